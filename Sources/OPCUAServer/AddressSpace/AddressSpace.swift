import RailgateCore

/// The nodes Railgate serves: a subset of namespace 0 that clients need,
/// and the gateway's namespace (ISA-95 folders → devices → tags).
///
/// Built once at start; afterwards immutable (values come from the
/// `TagTable` at read time), so every event loop reads it without locks.
public final class AddressSpace: Sendable {
    public let namespaces: [String]
    private let nodes: [NodeId: UANode]
    /// Inverse references, computed from the forward ones.
    private let inverse: [NodeId: [UAReference]]
    public let table: TagTable?
    /// Tag index → its variable node.
    public let tagNodes: [NodeId]

    init(namespaces: [String], nodes: [UANode], table: TagTable?, tagNodes: [NodeId]) {
        self.namespaces = namespaces
        var byId: [NodeId: UANode] = [:]
        var inverse: [NodeId: [UAReference]] = [:]
        for node in nodes {
            byId[node.nodeId] = node
            for reference in node.references where reference.isForward {
                inverse[reference.target, default: []].append(
                    UAReference(reference.referenceType, to: node.nodeId, forward: false))
            }
        }
        self.nodes = byId
        self.inverse = inverse
        self.table = table
        self.tagNodes = tagNodes
    }

    public subscript(_ id: NodeId) -> UANode? { nodes[id] }

    public var count: Int { nodes.count }

    /// Forward references as declared plus inverse references derived from them.
    public func references(of id: NodeId) -> [UAReference] {
        (nodes[id]?.references ?? []) + (inverse[id] ?? [])
    }

    /// Whether `type` is `base` or (transitively) one of its subtypes.
    public func isSubtype(_ type: NodeId, of base: NodeId) -> Bool {
        var current: NodeId? = type
        var steps = 0
        while let id = current, steps < 32 {
            if id == base { return true }
            current = inverse[id]?.first { $0.referenceType == UAIds.hasSubtype }?.target
            steps += 1
        }
        return false
    }
}
