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

    /// The tag variables made when asked for (tags whose variable is not among `nodes`).
    private let tagVariables: TagVariables?

    init(namespaces: [String], nodes: [UANode], table: TagTable?, tagNodes: [NodeId], tagDevices: [NodeId] = [],
         tagVariables: TagVariables? = nil, history: HistoryStore? = nil, alarms: AlarmEngine? = nil,
         conditions: [ConditionNode] = [], requiresReason: Bool = false) {
        self.alarms = alarms
        self.conditions = conditions
        self.requiresReason = requiresReason
        var conditionIndex: [NodeId: Int] = [:]
        for (alarm, condition) in conditions.enumerated() where !condition.id.isNull { conditionIndex[condition.id] = alarm }
        self.conditionIndex = conditionIndex
        self.namespaces = namespaces
        var byId: [NodeId: UANode] = [:]
        for node in nodes { byId[node.nodeId] = node }
        // Only variables whose value is their tag's: a Read served from the index must be the
        // Read the node would answer. A tag without a stored node has a made one.
        let tags = table?.tags ?? []
        var made = Array(repeating: false, count: tags.count)
        tagIndex = TagNodeIndex(tagNodes: tagNodes.prefix(tags.count).enumerated().map { index, id in
            if id.isNull { return id }
            guard let node = byId[id] else {
                made[index] = tagVariables != nil
                return made[index] ? id : NodeId.null
            }
            guard case .tag(index)? = node.value else { return NodeId.null }
            return id
        }, tags: tags)
        // References seen from their target. A made variable's references are turned round here
        // (its properties name it as their parent) but for its type definition, whose instances
        // are listed when asked for (`references(of:)`); a device's references to its tags'
        // variables are turned round when asked for too.
        var derived: [NodeId: [UAReference]] = [:]
        func turnRound(_ reference: UAReference, from source: NodeId) {
            derived[reference.target, default: []].append(
                UAReference(reference.referenceType, to: source, forward: !reference.isForward))
        }
        for node in nodes {
            for reference in node.references {
                if reference.isForward && reference.referenceType == UAIds.hasComponent,
                   let tag = tagIndex.tag(of: reference.target), made[tag],
                   tagDevices.indices.contains(tag), tagDevices[tag] == node.nodeId { continue }
                turnRound(reference, from: node.nodeId)
            }
        }
        if let tagVariables {
            for index in made.indices where made[index] {
                let node = tagVariables.node(index)
                for reference in node.references where reference.referenceType != UAIds.hasTypeDefinition {
                    turnRound(reference, from: node.nodeId)
                }
            }
        }
        self.nodes = byId
        self.derived = derived
        self.table = table
        self.tagNodes = tagNodes
        self.tagVariables = tagVariables
        self.history = history
        self.tagDevices = tagDevices
        madeVariables = made
    }

    /// Tag index → its variable is made when asked for.
    private let madeVariables: [Bool]

    /// A stored node, a tag's variable or the member of an alarm condition, made when asked for.
    public subscript(_ id: NodeId) -> UANode? { nodes[id] ?? madeVariable(id).map { $0.node } ?? conditionMember(id) }

    /// Every node, stored or made.
    public var count: Int { nodes.count + madeVariables.count { $0 } }

    /// The made variable `id` names, with its tag.
    private func madeVariable(_ id: NodeId) -> (tag: Int, node: UANode)? {
        guard let tagVariables, let tag = tagIndex.tag(of: id), madeVariables.indices.contains(tag), madeVariables[tag] else {
            return nil
        }
        return (tag, tagVariables.node(tag))
    }

    /// References as declared plus those other nodes declare to this one, turned round.
    public func references(of id: NodeId) -> [UAReference] {
        guard let node = nodes[id] else {
            if let (tag, variable) = madeVariable(id) {
                let device = tagDevices.indices.contains(tag) && !tagDevices[tag].isNull
                    ? [UAReference(UAIds.hasComponent, to: tagDevices[tag], forward: false)] : []
                return variable.references + device + (derived[id] ?? [])
            }
            return conditionMember(id)?.references ?? []
        }
        var references = node.references + (derived[id] ?? [])
        if let alarm = conditionIndex[id] { references += conditionMemberReferences(alarm) }
        if let tagVariables, node.nodeClass == .variableType {
            // The made variables of this type, as their stored nodes would have been listed.
            for (tag, made) in madeVariables.enumerated() where made && TagVariables.typeDefinition(tagVariables.table.tags[tag]) == id {
                references.append(UAReference(UAIds.hasTypeDefinition, to: tagNodes[tag], forward: false))
            }
        }
        return references
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
