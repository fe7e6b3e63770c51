import RailgateCore
import RailgateHistory

/// Collects nodes, then makes the immutable `AddressSpace`.
struct AddressSpaceBuilder {
    var nodes: [UANode] = []
    var namespaces = ["http://opcfoundation.org/UA/"]
    /// The EnumValues of each code map by name, made once and shared by the tags that use it
    /// (every alarm's state tag uses the same map).
    var enumValues: [String: (map: CodeMap, list: Variant)] = [:]
    /// The gateway's tag variables (`addGateway`), made when asked for.
    var tagVariables: TagVariables?

    mutating func add(_ node: UANode) { nodes.append(node) }

    mutating func object(_ id: NodeId, _ name: String, namespace: UInt16 = 0, type: NodeId = UAIds.baseObjectType,
                         references: [UAReference] = [], displayName: String? = nil, description: String? = nil,
                         eventNotifier: UInt8 = 0) {
        add(UANode(id, .object, browseName: QualifiedName(name, namespace: namespace),
                   displayName: displayName.map { LocalizedText($0) }, description: description.map { LocalizedText($0) },
                   references: [UAReference(UAIds.hasTypeDefinition, to: type)] + references, eventNotifier: eventNotifier))
    }

    mutating func folder(_ id: NodeId, _ name: String, namespace: UInt16 = 0, children: [NodeId] = []) {
        object(id, name, namespace: namespace, type: UAIds.folderType,
               references: children.map { UAReference(UAIds.organizes, to: $0) })
    }

    mutating func variable(_ id: NodeId, _ name: String, namespace: UInt16 = 0, value: UAValueSource,
                           dataType: NodeId, valueRank: Int32 = -1, type: NodeId = UAIds.baseDataVariableType,
                           accessLevel: UInt8 = UANode.currentRead, references: [UAReference] = [],
                           description: String? = nil, minimumSamplingInterval: Double = 0, historizing: Bool = false) {
        add(UANode(id, .variable, browseName: QualifiedName(name, namespace: namespace),
                   description: description.map { LocalizedText($0) },
                   references: [UAReference(UAIds.hasTypeDefinition, to: type)] + references,
                   value: value, dataType: dataType, valueRank: valueRank, accessLevel: accessLevel,
                   minimumSamplingInterval: minimumSamplingInterval, historizing: historizing))
    }

    mutating func property(_ id: NodeId, _ name: String, namespace: UInt16 = 0, _ value: Variant, dataType: NodeId,
                           valueRank: Int32 = -1) {
        variable(id, name, namespace: namespace, value: .constant(value), dataType: dataType, valueRank: valueRank,
                 type: UAIds.propertyType)
    }

    mutating func type(_ id: NodeId, _ name: String, _ nodeClass: NodeClass, subtypes: [NodeId] = [],
                       isAbstract: Bool = false, dataType: NodeId = .null) {
        add(UANode(id, nodeClass, browseName: QualifiedName(name),
                   references: subtypes.map { UAReference(UAIds.hasSubtype, to: $0) },
                   dataType: dataType, isAbstract: isAbstract))
    }

    mutating func referenceType(_ id: NodeId, _ name: String, inverse: String?, subtypes: [NodeId] = [],
                                isAbstract: Bool = false, symmetric: Bool = false) {
        add(UANode(id, .referenceType, browseName: QualifiedName(name),
                   references: subtypes.map { UAReference(UAIds.hasSubtype, to: $0) },
                   isAbstract: isAbstract, symmetric: symmetric, inverseName: inverse.map { LocalizedText($0) }))
    }

    func build(table: TagTable?, tagNodes: [NodeId], tagDevices: [NodeId] = [], history: HistoryStore? = nil,
               alarms: AlarmEngine? = nil, conditions: [ConditionNode] = [], requiresReason: Bool = false) -> AddressSpace {
        AddressSpace(namespaces: namespaces, nodes: nodes, table: table, tagNodes: tagNodes, tagDevices: tagDevices,
                     tagVariables: tagVariables, history: history, alarms: alarms, conditions: conditions,
                     requiresReason: requiresReason)
    }
}
