/// A value with an OPC UA Binary encoding (Part 6 §5.2). Built-in types are
/// written by hand in Encoding/; structures and enumerations are generated
/// from the specification's Opc.Ua.Types.bsd into Encoding/Generated/.
public protocol UACodable: Sendable {
    init(from reader: inout UAReader) throws(UADecodingError)
    func encode(to writer: inout UAWriter)
}

extension UACodable {
    /// The value's encoding as bytes.
    public var encoded: [UInt8] {
        var writer = UAWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes a value that must use `bytes` entirely.
    public init(decoding bytes: [UInt8]) throws(UADecodingError) {
        var reader = UAReader(bytes)
        self = try Self(from: &reader)
        guard reader.isAtEnd else { throw .badEncoding("\(reader.remaining) trailing byte(s)", offset: reader.offset) }
    }
}

extension UAReader {
    public mutating func read<T: UACodable>(_: T.Type) throws(UADecodingError) -> T {
        try T(from: &self)
    }

    public mutating func readArray<T: UACodable>(of _: T.Type) throws(UADecodingError) -> [T] {
        try readArray { (reader: inout UAReader) throws(UADecodingError) -> T in try T(from: &reader) }
    }
}

extension UAWriter {
    public mutating func write<T: UACodable>(_ value: T) {
        value.encode(to: &self)
    }

    public mutating func writeArray<T: UACodable>(_ values: [T]) {
        writeArray(values) { writer, value in value.encode(to: &writer) }
    }
}
