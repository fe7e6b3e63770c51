import RailgateCore
import RailgateHistory

/// The nodes Railgate serves: a subset of namespace 0 that clients need,
/// and the gateway's namespace (ISA-95 folders → devices → tags).
///
/// Built once at start; afterwards immutable (values come from the
/// `TagTable` at read time), so every event loop reads it without locks.
public final class AddressSpace: Sendable {
    public let namespaces: [String]
    private let nodes: [NodeId: UANode]
    /// References seen from their target: each declared reference, turned round (a node of a
    /// companion namespace declares its supertype by an inverse HasSubtype; the supertype in
    /// namespace 0 then lists it).
    private let derived: [NodeId: [UAReference]]
    public let table: TagTable?
    /// Tag index → its variable node.
    public let tagNodes: [NodeId]
    /// Tag variables by the bytes of their NodeIds (Read looks them up without a String).
    let tagIndex: TagNodeIndex
    /// Tag index → its device's object (the notifier of the tag's events).
    public let tagDevices: [NodeId]
    /// The history of historized tags (HistoryRead), if any tag has one.
    public let history: HistoryStore?
    /// The alarms and, by alarm index, their condition objects.
    let alarms: AlarmEngine?
    let conditions: [ConditionNode]
    /// Condition object → alarm index.
    let conditionIndex: [NodeId: Int]
    /// Part 11 mode: an acknowledgment needs a comment.
    let requiresReason: Bool

    init(namespaces: [String], nodes: [UANode], table: TagTable?, tagNodes: [NodeId], tagDevices: [NodeId] = [],
         history: HistoryStore? = nil, alarms: AlarmEngine? = nil, conditions: [ConditionNode] = [],
         requiresReason: Bool = false) {
        self.alarms = alarms
        self.conditions = conditions
        self.requiresReason = requiresReason
        var conditionIndex: [NodeId: Int] = [:]
        for (alarm, condition) in conditions.enumerated() where !condition.id.isNull { conditionIndex[condition.id] = alarm }
        self.conditionIndex = conditionIndex
        self.namespaces = namespaces
        var byId: [NodeId: UANode] = [:]
        var derived: [NodeId: [UAReference]] = [:]
        for node in nodes {
            byId[node.nodeId] = node
            for reference in node.references {
                derived[reference.target, default: []].append(
                    UAReference(reference.referenceType, to: node.nodeId, forward: !reference.isForward))
            }
        }
        self.nodes = byId
        self.derived = derived
        self.table = table
        self.tagNodes = tagNodes
        // Only variables whose value is their tag's: a Read served from the index must be the
        // Read the node would answer.
        let tags = table?.tags ?? []
        tagIndex = TagNodeIndex(tagNodes: tagNodes.prefix(tags.count).enumerated().map { index, id in
            guard case .tag(index)? = byId[id]?.value else { return NodeId.null }
            return id
        }, tags: tags)
        self.history = history
        self.tagDevices = tagDevices
    }

    /// A stored node, or the member of an alarm condition, made when asked for.
    public subscript(_ id: NodeId) -> UANode? { nodes[id] ?? conditionMember(id) }

    public var count: Int { nodes.count }

    /// References as declared plus those other nodes declare to this one, turned round.
    public func references(of id: NodeId) -> [UAReference] {
        guard let node = nodes[id] else { return conditionMember(id)?.references ?? [] }
        if let alarm = conditionIndex[id] { return node.references + (derived[id] ?? []) + conditionMemberReferences(alarm) }
        return node.references + (derived[id] ?? [])
    }

    /// Whether `type` is `base` or (transitively) one of its subtypes.
    public func isSubtype(_ type: NodeId, of base: NodeId) -> Bool {
        var current: NodeId? = type
        var steps = 0
        while let id = current, steps < 32 {
            if id == base { return true }
            let isSupertype = { (reference: UAReference) in !reference.isForward && reference.referenceType == UAIds.hasSubtype }
            current = (nodes[id]?.references.first(where: isSupertype) ?? derived[id]?.first(where: isSupertype))?.target
            steps += 1
        }
        return false
    }
}
