/// A device's communication health, as north shows it (OPC UA device
/// objects, console). Produced by the bus that owns the device.
public struct DeviceHealth: Sendable, Equatable {
    public var quality: Quality
    public var requests: Int
    public var errors: Int
    public var lastError: String?
    /// Duration of the last poll cycle, ns.
    public var lastCycleNs: Int64

    public init(quality: Quality, requests: Int, errors: Int, lastError: String?, lastCycleNs: Int64) {
        self.quality = quality
        self.requests = requests
        self.errors = errors
        self.lastError = lastError
        self.lastCycleNs = lastCycleNs
    }
}
