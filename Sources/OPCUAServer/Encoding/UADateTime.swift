/// A point in time: 100 ns intervals since 1601-01-01 UTC (Part 6 §5.2.2.5).
public struct UADateTime: Hashable, Sendable, Comparable {
    public var ticks: Int64

    /// Ticks between 1601-01-01 and the Unix epoch.
    static let unixEpochTicks: Int64 = 116_444_736_000_000_000

    public init(ticks: Int64) { self.ticks = ticks }

    public init(unixNanoseconds: Int64) {
        ticks = unixNanoseconds == 0 ? 0 : unixNanoseconds / 100 + Self.unixEpochTicks
    }

    /// Nanoseconds since the Unix epoch; a time from a client outside what 64 bits of
    /// nanoseconds hold (years before 1678 or after 2262) is clamped to the nearest.
    public var unixNanoseconds: Int64 {
        let (since, overflow) = ticks.subtractingReportingOverflow(Self.unixEpochTicks)
        if overflow { return ticks < 0 ? .min : .max }
        let (nanoseconds, tooLarge) = since.multipliedReportingOverflow(by: 100)
        return tooLarge ? (since < 0 ? .min : .max) : nanoseconds
    }

    /// The minimum value, meaning "no time".
    public static let null = UADateTime(ticks: 0)

    public static func < (a: UADateTime, b: UADateTime) -> Bool { a.ticks < b.ticks }
}

extension UADateTime: UACodable {
    public init(from reader: inout UAReader) throws(UADecodingError) { ticks = try reader.readInt64() }
    public func encode(to writer: inout UAWriter) { writer.writeInt64(ticks) }
}
