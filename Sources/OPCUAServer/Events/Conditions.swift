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

extension AddressSpaceBuilder {
    /// A condition object per alarm, a component of the watched tag's device (whose notifier
    /// reports its events), with HasCondition from the watched tag's variable. Its variables read
    /// the alarm's state when read; its methods are the types' Acknowledge and AddComment.
    mutating func addConditions(_ model: GatewayModel, tagNodes: [NodeId], tagDevices: [NodeId]) -> [ConditionNode] {
        guard let engine = model.alarms else { return [] }
        let ns: UInt16 = 1
        let tags = model.table.tags
        var conditions: [ConditionNode] = []
        for (alarm, definition) in engine.definitions.enumerated() {
            guard let output = definition.output, tags.indices.contains(output), tagNodes.indices.contains(definition.tag),
                  tagDevices.indices.contains(definition.tag) else {
                conditions.append(ConditionNode(id: .null, source: .null, sourceName: "", device: .null))
                continue
            }
            let id = NodeId("\(tags[output].path)#Condition", namespace: ns)
            let node = ConditionNode(id: id, source: tagNodes[definition.tag], sourceName: tags[definition.tag].path,
                                     device: tagDevices[definition.tag])
            conditions.append(node)
            let value = { (path: String) -> UAValueSource in
                .computed { [engine] in
                    guard let state = engine.state(alarm) else { return DataValue(status: .badNodeIdUnknown) }
                    return DataValue(value: ConditionFields.fields(definition, state, node)[path] ?? .empty, status: .good,
                                     sourceTimestamp: UADateTime(unixNanoseconds: state.changedNs))
                }
            }
            func member(_ path: String, _ dataType: NodeId, type: NodeId = UAIds.propertyType, children: [Member] = []) -> Member {
                Member(id: NodeId("\(tags[output].path)#Condition/\(path)", namespace: ns),
                       name: String(path.split(separator: "/").last ?? ""), dataType: dataType, type: type, children: children,
                       field: path)
            }
            func twoState(_ name: String) -> Member {
                member(name, UAIds.localizedText, type: UAIds.twoStateVariableType, children: [member("\(name)/Id", UAIds.boolean)])
            }
            func conditionVariable(_ name: String, _ dataType: NodeId) -> Member {
                member(name, dataType, type: UAIds.conditionVariableType, children: [member("\(name)/SourceTimestamp", UAIds.utcTime)])
            }
            var members = [
                member("ConditionClassId", UAIds.nodeId), member("ConditionClassName", UAIds.localizedText),
                member("ConditionName", UAIds.string), member("BranchId", UAIds.nodeId), member("Retain", UAIds.boolean),
                twoState("EnabledState"), conditionVariable("Quality", UAIds.statusCode),
                conditionVariable("LastSeverity", UAIds.uInt16), conditionVariable("Comment", UAIds.localizedText),
                member("ClientUserId", UAIds.string), twoState("AckedState"), twoState("ActiveState"),
                member("InputNode", UAIds.nodeId), member("SuppressedOrShelved", UAIds.boolean),
            ]
            var references: [UAReference] = [
                UAReference(UAIds.hasComponent, to: node.device, forward: false),
                UAReference(UAIds.hasCondition, to: node.source, forward: false),
                UAReference(UAIds.hasComponent, to: UAIds.acknowledgeableConditionType_Acknowledge),
                UAReference(UAIds.hasComponent, to: UAIds.conditionType_AddComment),
            ]
            switch definition.kind {
            case .limit(let highHigh, let high, let low, let lowLow, _):
                for (name, limit) in [("HighHighLimit", highHigh), ("HighLimit", high), ("LowLimit", low), ("LowLowLimit", lowLow)]
                where limit != nil {
                    members.append(member(name, UAIds.double))
                }
                let limitState = NodeId("\(tags[output].path)#Condition/LimitState", namespace: ns)
                let current = member("LimitState/CurrentState", UAIds.localizedText, type: UAIds.finiteStateVariableType,
                                     children: [member("LimitState/CurrentState/Id", UAIds.nodeId)])
                object(limitState, "LimitState", type: UAIds.exclusiveLimitStateMachineType,
                       references: addMembers([current]) { value($0.field) })
                references.append(UAReference(UAIds.hasComponent, to: limitState))
            case .offNormal:
                members.append(member("NormalState", UAIds.nodeId))
            }
            references += addMembers(members) { value($0.field) }
            object(id, "\(definition.name).Condition", namespace: ns, type: ConditionFields.type(definition), references: references,
                   displayName: definition.name, description: definition.message)
        }
        return conditions
    }
}
