import RailgateCore

// The fields of Railgate's alarm conditions (Part 9 §5.5–5.8), by browse path: the condition
// object's variables read them, and every condition event carries them.

/// One alarm as an OPC UA condition: its node, its source (the watched tag's variable) and the
/// device object whose notifier reports its events.
struct ConditionNode: Sendable {
    var id: NodeId
    var source: NodeId
    var sourceName: String
    var device: NodeId
}

enum ConditionFields {
    /// Every field of a condition in `state`, by browse path from the condition (`ActiveState/Id`).
    static func fields(_ definition: AlarmDefinition, _ state: AlarmState, _ node: ConditionNode) -> [String: Variant] {
        let changed = UADateTime(unixNanoseconds: state.changedNs)
        func text(_ value: String) -> Variant { .scalar(.localizedText(LocalizedText(value, locale: "en"))) }
        var fields: [String: Variant] = [
            "ConditionId": .scalar(.nodeId(node.id)),
            "ConditionClassId": .scalar(.nodeId(UAIds.processConditionClassType)),
            "ConditionClassName": text("Process"),
            "ConditionName": .scalar(.string(definition.name)),
            "BranchId": .scalar(.nodeId(.null)),
            "Retain": .scalar(.boolean(state.retain)),
            "EnabledState": text("Enabled"),
            "EnabledState/Id": .scalar(.boolean(true)),
            "Quality": .scalar(.statusCode(TagValue.status(state.quality))),
            "Quality/SourceTimestamp": .scalar(.dateTime(changed)),
            "LastSeverity": .scalar(.uInt16(definition.severity)),
            "LastSeverity/SourceTimestamp": .scalar(.dateTime(changed)),
            "Comment": text(state.comment),
            "Comment/SourceTimestamp": .scalar(.dateTime(changed)),
            "ClientUserId": .scalar(.string(state.user)),
            "AckedState": text(state.acknowledged ? "Acknowledged" : "Unacknowledged"),
            "AckedState/Id": .scalar(.boolean(state.acknowledged)),
            "ActiveState": text(state.active ? "Active" : "Inactive"),
            "ActiveState/Id": .scalar(.boolean(state.active)),
            "InputNode": .scalar(.nodeId(node.source)),
            "SuppressedOrShelved": .scalar(.boolean(false)),
        ]
        switch definition.kind {
        case .limit(let highHigh, let high, let low, let lowLow, _):
            for (name, limit) in [("HighHighLimit", highHigh), ("HighLimit", high), ("LowLimit", low), ("LowLowLimit", lowLow)] {
                if let limit { fields[name] = .scalar(.double(limit)) }
            }
            // The limit the value is at; empty while normal (Part 9 §5.8.12.2).
            let stateId: NodeId? = switch state.limit {
            case .normal: nil
            case .high: UAIds.exclusiveLimitStateMachineType_High
            case .highHigh: UAIds.exclusiveLimitStateMachineType_HighHigh
            case .low: UAIds.exclusiveLimitStateMachineType_Low
            case .lowLow: UAIds.exclusiveLimitStateMachineType_LowLow
            }
            fields["LimitState/CurrentState"] = stateId == nil ? .scalar(.localizedText(.null)) : text(state.limit.description)
            fields["LimitState/CurrentState/Id"] = .scalar(.nodeId(stateId ?? .null))
        case .offNormal:
            fields["NormalState"] = .scalar(.nodeId(.null))
        }
        return fields
    }

    /// The condition's type: ExclusiveLimitAlarmType or OffNormalAlarmType.
    static func type(_ definition: AlarmDefinition) -> NodeId {
        definition.isLimit ? UAIds.exclusiveLimitAlarmType : UAIds.offNormalAlarmType
    }

    /// The event of a condition's state (Part 9 §4.3: a condition event carries all its fields).
    static func event(_ definition: AlarmDefinition, _ state: AlarmState, _ node: ConditionNode, now: Int64) -> UAEvent {
        let message: String
        if state.active {
            message = definition.isLimit ? "\(definition.message): \(state.limit) (\(state.value))" : "\(definition.message) (\(state.value))"
        } else {
            message = "\(definition.message): back to normal"
        }
        var event = UAEvent(type: type(definition), source: node.source, sourceName: node.sourceName,
                            time: state.changedNs == 0 ? now : state.changedNs, message: message,
                            severity: definition.severity, fields: fields(definition, state, node), notifiers: [node.device])
        event.receiveTime = UADateTime(unixNanoseconds: now)
        return event
    }
}

/// The variables (and the LimitState object) of a condition object, by field path. They are not
/// stored: the address space makes a member's node, and the condition's references to its members,
/// when a client reads or browses them, so an alarm costs one stored node (`ConditionMembers.node`).
enum ConditionMembers {
    struct Member {
        var name: String
        var dataType: NodeId
        var type: NodeId = UAIds.propertyType
        var isObject = false
        var children: [String] = []
    }

    static let all: [String: Member] = {
        var members: [String: Member] = [:]
        func property(_ field: String, _ dataType: NodeId) {
            members[field] = Member(name: String(field.split(separator: "/").last ?? ""), dataType: dataType)
        }
        func variable(_ field: String, _ dataType: NodeId, type: NodeId, child: String, _ childType: NodeId) {
            members[field] = Member(name: String(field.split(separator: "/").last ?? ""), dataType: dataType, type: type,
                                    children: ["\(field)/\(child)"])
            property("\(field)/\(child)", childType)
        }
        for (field, dataType) in [("ConditionClassId", UAIds.nodeId), ("ConditionClassName", UAIds.localizedText),
                                  ("ConditionName", UAIds.string), ("BranchId", UAIds.nodeId), ("Retain", UAIds.boolean),
                                  ("ClientUserId", UAIds.string), ("InputNode", UAIds.nodeId),
                                  ("SuppressedOrShelved", UAIds.boolean), ("HighHighLimit", UAIds.double),
                                  ("HighLimit", UAIds.double), ("LowLimit", UAIds.double), ("LowLowLimit", UAIds.double),
                                  ("NormalState", UAIds.nodeId)] {
            property(field, dataType)
        }
        for field in ["EnabledState", "AckedState", "ActiveState"] {
            variable(field, UAIds.localizedText, type: UAIds.twoStateVariableType, child: "Id", UAIds.boolean)
        }
        for (field, dataType) in [("Quality", UAIds.statusCode), ("LastSeverity", UAIds.uInt16), ("Comment", UAIds.localizedText)] {
            variable(field, dataType, type: UAIds.conditionVariableType, child: "SourceTimestamp", UAIds.utcTime)
        }
        members["LimitState"] = Member(name: "LimitState", dataType: .null, type: UAIds.exclusiveLimitStateMachineType,
                                       isObject: true, children: ["LimitState/CurrentState"])
        variable("LimitState/CurrentState", UAIds.localizedText, type: UAIds.finiteStateVariableType, child: "Id", UAIds.nodeId)
        return members
    }()

    /// The members directly under an alarm's condition object.
    static func topLevel(_ definition: AlarmDefinition) -> [String] {
        var fields = ["ConditionClassId", "ConditionClassName", "ConditionName", "BranchId", "Retain", "EnabledState",
                      "Quality", "LastSeverity", "Comment", "ClientUserId", "AckedState", "ActiveState", "InputNode",
                      "SuppressedOrShelved"]
        switch definition.kind {
        case .limit(let highHigh, let high, let low, let lowLow, _):
            for (field, limit) in [("HighHighLimit", highHigh), ("HighLimit", high), ("LowLimit", low), ("LowLowLimit", lowLow)]
            where limit != nil {
                fields.append(field)
            }
            fields.append("LimitState")
        case .offNormal:
            fields.append("NormalState")
        }
        return fields
    }

    /// The reference from a parent to a member.
    static func reference(_ member: Member) -> NodeId { member.type == UAIds.propertyType ? UAIds.hasProperty : UAIds.hasComponent }

    /// A member's node, if the alarm's condition has that member.
    static func node(_ field: String, alarm: Int, _ engine: AlarmEngine, _ condition: ConditionNode) -> UANode? {
        guard case .string(let base) = condition.id.identifier, let member = all[field],
              engine.definitions.indices.contains(alarm),
              topLevel(engine.definitions[alarm]).contains(String(field.split(separator: "/").first ?? "")) else { return nil }
        let definition = engine.definitions[alarm]
        let parent = field.contains("/") ? NodeId("\(base)/\(field.split(separator: "/").dropLast().joined(separator: "/"))", namespace: 1)
            : condition.id
        let references = [UAReference(UAIds.hasTypeDefinition, to: member.type),
                          UAReference(reference(member), to: parent, forward: false)]
            + member.children.compactMap { child in all[child].map { UAReference(reference($0), to: NodeId("\(base)/\(child)", namespace: 1)) } }
        let id = NodeId("\(base)/\(field)", namespace: 1)
        if member.isObject { return UANode(id, .object, browseName: QualifiedName(member.name), references: references) }
        return UANode(id, .variable, browseName: QualifiedName(member.name), references: references, value: .computed { [engine] in
            guard let state = engine.state(alarm) else { return DataValue(status: .badNodeIdUnknown) }
            return DataValue(value: ConditionFields.fields(definition, state, condition)[field] ?? .empty, status: .good,
                             sourceTimestamp: UADateTime(unixNanoseconds: state.changedNs))
        }, dataType: member.dataType)
    }
}

extension AddressSpace {
    /// The references from an alarm's condition object to its members.
    func conditionMemberReferences(_ alarm: Int) -> [UAReference] {
        guard let engine = alarms, engine.definitions.indices.contains(alarm), conditions.indices.contains(alarm),
              case .string(let base) = conditions[alarm].id.identifier else { return [] }
        return ConditionMembers.topLevel(engine.definitions[alarm]).compactMap { field in
            ConditionMembers.all[field].map { UAReference(ConditionMembers.reference($0), to: NodeId("\(base)/\(field)", namespace: 1)) }
        }
    }

    /// The node of a condition's member (`<state tag path>#Condition/ActiveState/Id`), made on demand.
    func conditionMember(_ id: NodeId) -> UANode? {
        guard !conditions.isEmpty, id.namespace == 1, case .string(let text) = id.identifier,
              let mark = text.firstRange(of: "#Condition/"), let engine = alarms else { return nil }
        let condition = NodeId(String(text[..<mark.lowerBound]) + "#Condition", namespace: 1)
        guard let alarm = conditionIndex[condition] else { return nil }
        return ConditionMembers.node(String(text[mark.upperBound...]), alarm: alarm, engine, conditions[alarm])
    }
}

extension AddressSpaceBuilder {
    /// A condition object per alarm, a component of the watched tag's device (whose notifier
    /// reports its events), with HasCondition from the watched tag's variable; its members are
    /// made when asked for (`ConditionMembers`); its methods are the types' Acknowledge and AddComment.
    mutating func addConditions(_ model: GatewayModel, tagNodes: [NodeId], tagDevices: [NodeId]) -> [ConditionNode] {
        guard let engine = model.alarms else { return [] }
        let ns: UInt16 = 1
        let tags = model.table.tags
        var conditions: [ConditionNode] = []
        for definition in engine.definitions {
            guard let output = definition.output, tags.indices.contains(output), tagNodes.indices.contains(definition.tag),
                  tagDevices.indices.contains(definition.tag) else {
                conditions.append(ConditionNode(id: .null, source: .null, sourceName: "", device: .null))
                continue
            }
            let base = "\(tags[output].path)#Condition"
            let node = ConditionNode(id: NodeId(base, namespace: ns), source: tagNodes[definition.tag],
                                     sourceName: tags[definition.tag].path, device: tagDevices[definition.tag])
            conditions.append(node)
            // The references to its members are made with them (AddressSpace.references(of:)).
            object(node.id, "\(definition.name).Condition", namespace: ns, type: ConditionFields.type(definition),
                   references: [UAReference(UAIds.hasComponent, to: node.device, forward: false),
                                UAReference(UAIds.hasCondition, to: node.source, forward: false),
                                UAReference(UAIds.hasComponent, to: UAIds.acknowledgeableConditionType_Acknowledge),
                                UAReference(UAIds.hasComponent, to: UAIds.conditionType_AddComment)],
                   displayName: definition.name, description: definition.message)
        }
        return conditions
    }
}
