import RailgateCore
import RailgateHistory

/// What the gateway's namespace is built from.
public struct GatewayModel: Sendable {
    public var namespaceUri: String
    /// ISA-95 levels, outermost first (enterprise, site, area, line, cell).
    public var hierarchy: [String]
    public var table: TagTable
    /// Whether OPC UA clients may write writable tags.
    public var writesEnabled: Bool
    /// The devices, their tags and health.
    public var devices: DeviceTable
    /// The history of historized tags; nil: none is kept.
    public var history: HistoryStore?
    /// The alarms, each served as a condition; nil: none is configured.
    public var alarms: AlarmEngine?
    /// Part 11 mode: acknowledging an alarm needs a comment (its reason).
    public var requiresReason = false

    public init(namespaceUri: String, hierarchy: [String], table: TagTable, writesEnabled: Bool, devices: DeviceTable,
                history: HistoryStore? = nil) {
        self.namespaceUri = namespaceUri
        self.hierarchy = hierarchy
        self.table = table
        self.writesEnabled = writesEnabled
        self.devices = devices
        self.history = history
    }
}

/// The variables of the gateway's tags. They are not stored as nodes: each is made from its tag
/// when a service asks for it (Browse, attribute reads, monitored items), with the attributes and
/// references a stored node would have — at 10 000 tags the stored nodes, their entries in the
/// node table and their turned-round references took ≈ 600 bytes a tag. Read of a tag's value
/// does not make one (`TagNodeIndex`).
struct TagVariables: Sendable {
    let table: TagTable
    let writesEnabled: Bool
    let history: HistoryStore?
    static let namespace: UInt16 = 1

    /// Tag `index`'s variable node.
    func node(_ index: Int) -> UANode {
        let tag = table.tags[index]
        var access = UANode.currentRead
        if tag.writable && writesEnabled { access |= UANode.currentWrite }
        let historizing = history?.has(index) ?? false
        if historizing { access |= UANode.historyRead }
        let references = [UAReference(UAIds.hasTypeDefinition, to: Self.typeDefinition(tag))]
            + Self.properties(of: tag).map { UAReference(UAIds.hasProperty, to: $0.id) }
        return UANode(NodeId(tag.path, namespace: Self.namespace), .variable,
                      browseName: QualifiedName(tag.name, namespace: Self.namespace), references: references,
                      value: .tag(index), dataType: TagValue.dataType(of: tag), accessLevel: access,
                      historizing: historizing)
    }

    /// An analog item: a number with a unit or a range (Part 8 §5.3.2).
    static func isAnalog(_ tag: Tag) -> Bool {
        tag.codes == nil && tag.kind != .string && tag.kind != .bool && (tag.unit != nil || tag.range != nil)
    }

    static func typeDefinition(_ tag: Tag) -> NodeId {
        tag.codes != nil ? UAIds.multiStateValueDiscreteType : isAnalog(tag) ? UAIds.analogItemType : UAIds.baseDataVariableType
    }

    /// The properties of a tag's variable, in the order it references them.
    enum Property: String { case enumValues = "EnumValues", valueAsText = "ValueAsText", engineeringUnits = "EngineeringUnits",
                            euRange = "EURange" }

    static func properties(of tag: Tag) -> [(property: Property, id: NodeId)] {
        var properties: [Property] = []
        if tag.codes != nil { properties += [.enumValues, .valueAsText] }
        if isAnalog(tag), tag.unit != nil { properties.append(.engineeringUnits) }
        if tag.range != nil, tag.kind != .string && tag.kind != .bool { properties.append(.euRange) }
        return properties.map { ($0, NodeId("\(tag.path)#\($0.rawValue)", namespace: namespace)) }
    }
}

extension AddressSpaceBuilder {
    /// ISA-95 folders (enterprise → … → cell) → device objects with their
    /// health variables → tag variables, in namespace 1. NodeIds are string
    /// ids equal to the tag path (`acme/plant1/line3/meter1/voltage`), so a
    /// client can address a tag without browsing. A device with an ISA-95
    /// identity is an OPC 10030 Equipment object, and each work center the
    /// identities name is one too, made up of its devices' objects.
    /// Returns the top folder, the variable of each tag and the device objects (event notifiers:
    /// a tag's write events come from its device).
    mutating func addGateway(_ model: GatewayModel) -> (top: NodeId, tagNodes: [NodeId], devices: [NodeId],
                                                        tagDevices: [NodeId]) {
        let ns = TagVariables.namespace
        namespaces.append(model.namespaceUri)
        tagVariables = TagVariables(table: model.table, writesEnabled: model.writesEnabled, history: model.history)
        addISA95Types()
        let tags = model.table.tags
        let devices = model.devices.names
        // Folders: each level organizes the next; the innermost organizes the devices and work centers.
        var paths: [String] = []
        for level in model.hierarchy { paths.append(paths.isEmpty ? level : "\(paths.last!)/\(level)") }
        let base = paths.last ?? ""
        let deviceIds = devices.map { NodeId(base.isEmpty ? $0 : "\(base)/\($0)", namespace: ns) }
        var centers: [(id: String, members: [NodeId])] = []
        for (number, identity) in model.devices.identities.enumerated() {
            guard let center = identity?.workCenter else { continue }
            if let known = centers.firstIndex(where: { $0.id == center }) {
                centers[known].members.append(deviceIds[number])
            } else {
                centers.append((center, [deviceIds[number]]))
            }
        }
        let centerIds = centers.map { addWorkCenter($0.id, base: base, members: $0.members) }
        for (depth, path) in paths.enumerated() {
            let children = depth + 1 < paths.count ? [NodeId(paths[depth + 1], namespace: ns)] : deviceIds + centerIds
            folder(NodeId(path, namespace: ns), model.hierarchy[depth], namespace: ns, children: children)
        }
        var tagNodes = Array(repeating: NodeId.null, count: tags.count)
        var tagDevices = Array(repeating: NodeId.null, count: tags.count)
        for (number, device) in devices.enumerated() {
            let devicePath = base.isEmpty ? device : "\(base)/\(device)"
            let deviceId = NodeId(devicePath, namespace: ns)
            let health = addDeviceHealth(devicePath, device: number, model: model)
            let members = model.devices.tags[number]
            for index in members where tags.indices.contains(index) {
                tagNodes[index] = addTag(index, tags[index], model: model)
                tagDevices[index] = deviceId
            }
            var references = (members.map { tagNodes[$0] } + health).map { UAReference(UAIds.hasComponent, to: $0) }
            guard let identity = model.devices.identities[number] else {
                object(deviceId, device, namespace: ns, references: references, description: "Field device \(device)",
                       eventNotifier: UANode.subscribeToEvents)
                continue
            }
            references.append(addEquipmentLevel(devicePath, identity.level))
            object(deviceId, device, namespace: ns, type: ISA95Nodes.equipmentType.id, references: references,
                   displayName: identity.equipmentId, description: identity.description ?? "Field device \(device)",
                   eventNotifier: UANode.subscribeToEvents)
        }
        return (NodeId(paths.first ?? "", namespace: ns), tagNodes, deviceIds, tagDevices)
    }

    /// The property nodes of a tag's variable (the variable itself is made when asked for:
    /// `TagVariables`); gives its NodeId.
    private mutating func addTag(_ index: Int, _ tag: Tag, model: GatewayModel) -> NodeId {
        for (kind, id) in TagVariables.properties(of: tag) {
            switch kind {
            case .enumValues, .valueAsText:
                // Both made by `addCodeProperties`, with the first.
                if kind == .enumValues, let codes = tag.codes { addCodeProperties(tag, index, codes, table: model.table) }
            case .engineeringUnits:
                // A unit the table does not know (a DBC file's own spelling) keeps its text, unitId −1.
                let unit = tag.unit ?? ""
                let known = EngineeringUnit.named(unit)
                let information = EUInformation(namespaceUri: "http://www.opcfoundation.org/UA/units/un/cefact",
                                                unitId: known?.unitId ?? -1, displayName: LocalizedText(known?.symbol ?? unit),
                                                description: LocalizedText(known?.description ?? unit))
                property(id, "EngineeringUnits", namespace: 0,
                         .scalar(.extensionObject(ExtensionObject(information, encodingId: UAIds.Encoding.euInformation))),
                         dataType: UAIds.euInformation)
            case .euRange:
                let range = tag.range ?? 0...0
                property(id, "EURange", namespace: 0,
                         .scalar(.extensionObject(ExtensionObject(Range(low: range.lowerBound, high: range.upperBound),
                                                                  encodingId: UAIds.Encoding.range))),
                         dataType: UAIds.range)
            }
        }
        return NodeId(tag.path, namespace: TagVariables.namespace)
    }

    /// A mapped tag is a MultiStateValueDiscrete variable (Part 8 §5.3.3.4): `EnumValues` lists
    /// its map (raw value, code), `ValueAsText` is the code of the current value — empty, with
    /// the tag's Uncertain status, when the map does not list it.
    private mutating func addCodeProperties(_ tag: Tag, _ index: Int, _ codes: CodeMap, table: TagTable) {
        let ns: UInt16 = 1
        let enumValuesId = NodeId("\(tag.path)#EnumValues", namespace: ns)
        let shared = enumValues[codes.name].flatMap { $0.map == codes ? $0.list : nil }
        let list = shared ?? .array(type: .extensionObject, values: zip(codes.values, codes.codes).map { value, code in
            VariantValue.extensionObject(ExtensionObject(
                EnumValueType(value: value, displayName: LocalizedText(code), description: LocalizedText(code)),
                encodingId: UAIds.Encoding.enumValueType))
        }, dimensions: nil)
        enumValues[codes.name] = (codes, list)
        property(enumValuesId, "EnumValues", namespace: 0, list, dataType: UAIds.enumValueType, valueRank: 1)
        let textId = NodeId("\(tag.path)#ValueAsText", namespace: ns)
        variable(textId, "ValueAsText", namespace: 0, value: .computed({
            let state = table.state(index)
            var current = TagValue.dataValue(tag, state)
            if current.value != nil {
                current.value = .scalar(.localizedText(LocalizedText(codes.code(of: state.sample.value, kind: tag.kind) ?? "")))
            }
            return current
        }), dataType: UAIds.localizedText, type: UAIds.propertyType)
    }

    /// Status, request and error counters, last error and cycle time of a device.
    private mutating func addDeviceHealth(_ devicePath: String, device: Int, model: GatewayModel) -> [NodeId] {
        let ns: UInt16 = 1
        let devices = model.devices
        func health(_ name: String, _ dataType: NodeId, _ read: @escaping @Sendable (DeviceHealth) -> Variant) -> NodeId {
            let id = NodeId("\(devicePath)#\(name)", namespace: ns)
            variable(id, name, namespace: ns, value: .computed({
                guard let current = devices.health(device) else { return DataValue(status: .badWaitingForInitialData) }
                return DataValue(value: read(current), status: .good,
                                 serverTimestamp: UADateTime(unixNanoseconds: Clock.realtimeNs()))
            }), dataType: dataType)
            return id
        }
        return [
            health("Status", UAIds.string) { .scalar(.string($0.quality.description)) },
            health("Requests", UAIds.uInt64) { .scalar(.uInt64(UInt64($0.requests))) },
            health("Errors", UAIds.uInt64) { .scalar(.uInt64(UInt64($0.errors))) },
            health("LastError", UAIds.string) { .scalar(.string($0.lastError ?? "")) },
            health("CycleTimeMs", UAIds.double) { .scalar(.double(Double($0.lastCycleNs) / 1e6)) },
        ]
    }
}
