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
