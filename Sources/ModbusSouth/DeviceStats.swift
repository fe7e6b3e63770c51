import RailgateCore

/// Counters of one device, as shown by `railgate` logs and the console.
public struct DeviceStats: Sendable, Equatable {
    public var device: String
    /// Read requests sent and how many failed.
    public var requests: Int = 0
    public var errors: Int = 0
    /// Completed poll cycles and cycles started late because the previous
    /// cycle (or the bus) overran the poll period.
    public var cycles: Int = 0
    public var missedDeadlines: Int = 0
    /// Duration of the last and the longest cycle, ns.
    public var lastCycleNs: Int64 = 0
    public var maxCycleNs: Int64 = 0
    /// Quality of the last cycle: good, or the reason of its last failed read.
    public var quality: Quality = Quality(reason: .waitingForInitialData)
    /// errno of the last failure (see `lastError`), and when it happened.
    public var lastErrno: Int32 = 0
    public var lastErrorAt: Int64 = 0
    /// Writes sent to the device, and how many of them failed.
    public var writes: Int = 0
    public var writeErrors: Int = 0

    public init(device: String) { self.device = device }

    /// libmodbus's text for the last failure, nil when none.
    public var lastError: String? { lastErrno == 0 ? nil : ModbusErrno.message(lastErrno) }
}
