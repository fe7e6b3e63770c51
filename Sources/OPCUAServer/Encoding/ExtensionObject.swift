/// A structure carried as its encoding NodeId and an opaque body
/// (Part 6 §5.2.2.15). The body is decoded by whoever knows the type.
public struct ExtensionObject: Hashable, Sendable {
    public enum Body: Hashable, Sendable {
        case none
        case binary([UInt8])
        case xml([UInt8])
    }

    public var typeId: NodeId
    public var body: Body

    public init(typeId: NodeId, body: Body) {
        self.typeId = typeId
        self.body = body
    }

    /// Wraps an encodable structure with its DefaultBinary encoding id.
    public init<T: UACodable>(_ value: T, encodingId: NodeId) {
        self.init(typeId: encodingId, body: .binary(value.encoded))
    }

    public static let null = ExtensionObject(typeId: .null, body: .none)

    public var isNull: Bool { typeId.isNull && body == .none }

    /// Decodes the binary body as `T` when the encoding id matches.
    public func decode<T: UACodable>(_: T.Type, encodingId: NodeId) throws(UADecodingError) -> T? {
        guard typeId == encodingId, case .binary(let bytes) = body else { return nil }
        return try T(decoding: bytes)
    }
}

extension ExtensionObject: UACodable {
    public init(from reader: inout UAReader) throws(UADecodingError) {
        typeId = try NodeId(from: &reader)
        let start = reader.offset
        switch try reader.readByte() {
        case 0x00: body = .none
        case 0x01: body = .binary(try reader.readByteString() ?? [])
        case 0x02: body = .xml(try reader.readByteString() ?? [])
        case let other: throw .badEncoding("ExtensionObject encoding 0x\(String(other, radix: 16))", offset: start)
        }
    }

    public func encode(to writer: inout UAWriter) {
        typeId.encode(to: &writer)
        switch body {
        case .none: writer.writeByte(0x00)
        case .binary(let bytes):
            writer.writeByte(0x01)
            writer.writeByteString(bytes)
        case .xml(let bytes):
            writer.writeByte(0x02)
            writer.writeByteString(bytes)
        }
    }
}
