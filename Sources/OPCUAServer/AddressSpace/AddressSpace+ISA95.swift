import RailgateCore

/// One node of OPC 10030 (ISA-95 Common Object Model) that the server holds; the generated
/// `ISA95Nodes` lists them.
public struct ISA95Node: Sendable {
    public enum Kind: Sendable { case objectType, referenceType, dataType }

    /// The ISA-95 namespace's index in this server's namespace array (0: OPC UA, 1: the gateway).
    public static let namespace: UInt16 = 2

    public let number: UInt32
    public let browseName: String
    public let kind: Kind
    public let supertype: NodeId
    public let inverseName: String?
    public let isAbstract: Bool

    public var id: NodeId { NodeId(number, namespace: Self.namespace) }
}

extension AddressSpaceBuilder {
    /// The ISA-95 namespace and the part of it equipment objects use: ISA95ObjectType →
    /// EquipmentType, the HasISA95Attribute and MadeUpOfEquipment reference types, and the
    /// ISA95EquipmentElementLevelEnum data type with its EnumStrings.
    mutating func addISA95Types() {
        precondition(namespaces.count == Int(ISA95Node.namespace), "the ISA-95 namespace comes after the gateway's")
        namespaces.append(ISA95Nodes.namespaceUri)
        let nodes = [ISA95Nodes.isa95ObjectType, ISA95Nodes.equipmentType, ISA95Nodes.hasISA95Attribute,
                     ISA95Nodes.madeUpOf, ISA95Nodes.madeUpOfEquipment, ISA95Nodes.isa95EquipmentElementLevelEnum]
        for node in nodes {
            let nodeClass: NodeClass = switch node.kind {
            case .objectType: .objectType
            case .referenceType: .referenceType
            case .dataType: .dataType
            }
            var references = [UAReference(UAIds.hasSubtype, to: node.supertype, forward: false)]
            if node.kind == .dataType {
                let strings = NodeId("\(node.browseName)#EnumStrings", namespace: ISA95Node.namespace)
                property(strings, "EnumStrings", .array(type: .localizedText,
                         values: ISA95Nodes.equipmentLevelNames.map { .localizedText(LocalizedText($0)) }, dimensions: nil),
                         dataType: UAIds.localizedText, valueRank: 1)
                references.append(UAReference(UAIds.hasProperty, to: strings))
            }
            add(UANode(node.id, nodeClass, browseName: QualifiedName(node.browseName, namespace: ISA95Node.namespace),
                       references: references, isAbstract: node.isAbstract,
                       inverseName: node.inverseName.map { LocalizedText($0) }))
        }
    }

    /// A device with an ISA-95 identity is an Equipment object: type EquipmentType, its equipment
    /// id as display name, its description, and its EquipmentLevel attribute. Returns the
    /// attribute's reference for the device object.
    mutating func addEquipmentLevel(_ devicePath: String, _ level: EquipmentLevel) -> UAReference {
        let id = NodeId("\(devicePath)#EquipmentLevel", namespace: 1)
        property(id, "EquipmentLevel", namespace: ISA95Node.namespace, .scalar(.int32(level.rawValue)),
                 dataType: ISA95Nodes.isa95EquipmentElementLevelEnum.id)
        return UAReference(ISA95Nodes.hasISA95Attribute.id, to: id)
    }

    /// A work center the identities name: an Equipment object at level WorkCenter, organized by
    /// the innermost ISA-95 folder, made up of (MadeUpOfEquipment) its devices' objects.
    mutating func addWorkCenter(_ id: String, base: String, members: [NodeId]) -> NodeId {
        let node = NodeId("\(base)#\(id)", namespace: 1)
        let level = addEquipmentLevel("\(base)#\(id)", .workCenter)
        object(node, id, namespace: 1, type: ISA95Nodes.equipmentType.id,
               references: [level] + members.map { UAReference(ISA95Nodes.madeUpOfEquipment.id, to: $0) },
               description: "Work center \(id)")
        return node
    }
}
