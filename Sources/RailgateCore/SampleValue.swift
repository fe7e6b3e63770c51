/// Eight bytes holding a tag's value; the tag's `ValueKind` says how to read
/// them. For strings the bytes hold the byte length of the text, which travels
/// beside the sample (see `SampleRing`).
public struct SampleValue: Equatable, Sendable {
    public var bits: UInt64

    @inlinable public init(bits: UInt64) { self.bits = bits }
    @inlinable public init(bool: Bool) { bits = bool ? 1 : 0 }
    @inlinable public init(int: Int64) { bits = UInt64(bitPattern: int) }
    @inlinable public init(uint: UInt64) { bits = uint }
    @inlinable public init(double: Double) { bits = double.bitPattern }

    @inlinable public var bool: Bool { bits != 0 }
    @inlinable public var int: Int64 { Int64(bitPattern: bits) }
    @inlinable public var uint: UInt64 { bits }
    @inlinable public var double: Double { Double(bitPattern: bits) }

    public static let zero = SampleValue(bits: 0)

    /// The value as people read it (console, audit trail). A string's text travels apart from
    /// its sample: callers show that instead; for `.string` this is the number of bytes.
    public func text(_ kind: ValueKind) -> String {
        switch kind {
        case .bool: bool ? "true" : "false"
        case .int: String(int)
        case .uint, .string: String(uint)
        case .double: String(double)
        }
    }

    /// The value as a Double for deadband comparison (strings: NaN).
    @inlinable public func numeric(_ kind: ValueKind) -> Double {
        switch kind {
        case .bool: bits != 0 ? 1 : 0
        case .int: Double(int)
        case .uint: Double(uint)
        case .double: double
        case .string: .nan
        }
    }
}
