/// A name qualified by a namespace index (BrowseName), Part 6 §5.2.2.13.
public struct QualifiedName: Hashable, Sendable, CustomStringConvertible {
    public var namespace: UInt16
    public var name: String?

    public init(_ name: String?, namespace: UInt16 = 0) {
        self.namespace = namespace
        self.name = name
    }

    public static let null = QualifiedName(nil)

    public var description: String { namespace == 0 ? (name ?? "") : "\(namespace):\(name ?? "")" }
}

extension QualifiedName: UACodable {
    public init(from reader: inout UAReader) throws(UADecodingError) {
        namespace = try reader.readUInt16()
        name = try reader.readString()
    }

    public func encode(to writer: inout UAWriter) {
        writer.writeUInt16(namespace)
        writer.writeString(name)
    }
}
