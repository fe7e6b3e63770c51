/// One reading of one tag: a trivial value (no references, no heap storage),
/// 24 bytes, so that the sampling loop can fill it without allocating.
public struct Sample: Sendable, Equatable {
    /// Index of the tag in the `TagCatalog`.
    public var tag: UInt32
    public var quality: Quality
    /// Source timestamp: CLOCK_REALTIME in ns when the device's answer arrived.
    public var timestamp: Int64
    public var value: SampleValue

    @inlinable public init(tag: UInt32, quality: Quality, timestamp: Int64, value: SampleValue) {
        self.tag = tag
        self.quality = quality
        self.timestamp = timestamp
        self.value = value
    }
}
