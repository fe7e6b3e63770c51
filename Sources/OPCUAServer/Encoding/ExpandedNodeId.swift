/// A NodeId that may name its namespace by URI and live on another server
/// (Part 6 §5.2.2.10).
public struct ExpandedNodeId: Hashable, Sendable {
    public var nodeId: NodeId
    public var namespaceUri: String?
    public var serverIndex: UInt32

    public init(_ nodeId: NodeId, namespaceUri: String? = nil, serverIndex: UInt32 = 0) {
        self.nodeId = nodeId
        self.namespaceUri = namespaceUri
        self.serverIndex = serverIndex
    }

    public static let null = ExpandedNodeId(.null)
}

extension ExpandedNodeId: UACodable {
    public init(from reader: inout UAReader) throws(UADecodingError) {
        let (nodeId, flags) = try NodeId.read(from: &reader)
        self.nodeId = nodeId
        namespaceUri = flags & 0x80 != 0 ? try reader.readString() : nil
        serverIndex = flags & 0x40 != 0 ? try reader.readUInt32() : 0
    }

    public func encode(to writer: inout UAWriter) {
        let flags: UInt8 = (namespaceUri != nil ? 0x80 : 0) | (serverIndex != 0 ? 0x40 : 0)
        nodeId.encode(to: &writer, flags: flags)
        if let namespaceUri { writer.writeString(namespaceUri) }
        if serverIndex != 0 { writer.writeUInt32(serverIndex) }
    }
}
