/// A node's identifier: namespace index and a numeric, string, GUID or
/// opaque identifier (Part 3 §8.2, encoding Part 6 §5.2.2.9).
public struct NodeId: Hashable, Sendable, CustomStringConvertible {
    public enum Identifier: Hashable, Sendable {
        case numeric(UInt32)
        case string(String)
        case guid(UAGuid)
        case opaque([UInt8])
    }

    public var namespace: UInt16
    public var identifier: Identifier

    public init(namespace: UInt16 = 0, _ identifier: Identifier) {
        self.namespace = namespace
        self.identifier = identifier
    }

    public init(_ numeric: UInt32, namespace: UInt16 = 0) {
        self.init(namespace: namespace, .numeric(numeric))
    }

    public init(_ string: String, namespace: UInt16) {
        self.init(namespace: namespace, .string(string))
    }

    public static let null = NodeId(0)

    public var isNull: Bool { self == .null }

    /// The standard text form: `ns=2;s=acme/line3`, `i=85`.
    public var description: String {
        let ns = namespace == 0 ? "" : "ns=\(namespace);"
        switch identifier {
        case .numeric(let value): return "\(ns)i=\(value)"
        case .string(let value): return "\(ns)s=\(value)"
        case .guid(let value): return "\(ns)g=\(value)"
        case .opaque(let value): return "\(ns)b=\(value.map { String($0, radix: 16) }.joined())"
        }
    }
}

extension NodeId: UACodable {
    public init(from reader: inout UAReader) throws(UADecodingError) {
        let (nodeId, flags) = try NodeId.read(from: &reader)
        guard flags == 0 else { throw .badEncoding("expanded NodeId flags 0x\(String(flags, radix: 16)) in a NodeId", offset: reader.offset) }
        self = nodeId
    }

    /// Reads the encoding byte and identifier; returns the upper flag bits
    /// (ExpandedNodeId's namespace URI / server index) for the caller.
    static func read(from reader: inout UAReader) throws(UADecodingError) -> (NodeId, UInt8) {
        let start = reader.offset
        let encoding = try reader.readByte()
        let flags = encoding & 0xC0
        switch encoding & 0x3F {
        case 0x00: return (NodeId(UInt32(try reader.readByte())), flags)
        case 0x01:
            let ns = UInt16(try reader.readByte())
            return (NodeId(UInt32(try reader.readUInt16()), namespace: ns), flags)
        case 0x02:
            let ns = try reader.readUInt16()
            return (NodeId(try reader.readUInt32(), namespace: ns), flags)
        case 0x03:
            let ns = try reader.readUInt16()
            return (NodeId(namespace: ns, .string(try reader.readString() ?? "")), flags)
        case 0x04:
            let ns = try reader.readUInt16()
            return (NodeId(namespace: ns, .guid(try UAGuid(from: &reader))), flags)
        case 0x05:
            let ns = try reader.readUInt16()
            return (NodeId(namespace: ns, .opaque(try reader.readByteString() ?? [])), flags)
        default:
            throw .badEncoding("NodeId encoding 0x\(String(encoding, radix: 16))", offset: start)
        }
    }

    public func encode(to writer: inout UAWriter) {
        encode(to: &writer, flags: 0)
    }

    /// Writes the most compact form (two-byte, four-byte, numeric …).
    func encode(to writer: inout UAWriter, flags: UInt8) {
        switch identifier {
        case .numeric(let value) where namespace == 0 && value <= 0xFF:
            writer.writeByte(0x00 | flags)
            writer.writeByte(UInt8(value))
        case .numeric(let value) where namespace <= 0xFF && value <= 0xFFFF:
            writer.writeByte(0x01 | flags)
            writer.writeByte(UInt8(namespace))
            writer.writeUInt16(UInt16(value))
        case .numeric(let value):
            writer.writeByte(0x02 | flags)
            writer.writeUInt16(namespace)
            writer.writeUInt32(value)
        case .string(let value):
            writer.writeByte(0x03 | flags)
            writer.writeUInt16(namespace)
            writer.writeString(value)
        case .guid(let value):
            writer.writeByte(0x04 | flags)
            writer.writeUInt16(namespace)
            value.encode(to: &writer)
        case .opaque(let value):
            writer.writeByte(0x05 | flags)
            writer.writeUInt16(namespace)
            writer.writeByteString(value)
        }
    }
}
