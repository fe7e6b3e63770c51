/// Byte and word order of multi-register values, named after the position of
/// the bytes of the big-endian value `ABCD` as they arrive on the wire.
///
/// - `ABCD`: big endian, the Modbus default.
/// - `CDAB`: words swapped, bytes within each word big endian.
/// - `BADC`: words in order, bytes within each word swapped.
/// - `DCBA`: little endian.
///
/// For 64-bit values the same two rules apply (reverse the word order; swap
/// the bytes in each word). For 16-bit values only the byte swap matters.
public enum ByteOrder: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case abcd, cdab, badc, dcba

    public var description: String {
        switch self {
        case .abcd: "ABCD"
        case .cdab: "CDAB"
        case .badc: "BADC"
        case .dcba: "DCBA"
        }
    }

    public init?(name: String) {
        guard let match = ByteOrder.allCases.first(where: { $0.description == name.uppercased() }) else {
            return nil
        }
        self = match
    }

    /// The registers arrive least significant word first.
    @inlinable public var swapsWords: Bool { self == .cdab || self == .dcba }
    /// Each register carries its low byte first.
    @inlinable public var swapsBytes: Bool { self == .badc || self == .dcba }
}
