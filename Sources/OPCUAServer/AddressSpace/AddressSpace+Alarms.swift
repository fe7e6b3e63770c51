import RailgateCore

// Alarms & Conditions (OPC UA Part 9): the condition types Railgate's alarms are instances of, with
// their members and methods. The conditions themselves: Events/Conditions.swift.

extension AddressSpaceBuilder {
    /// A variable of a condition type: name, NodeId, DataType, and its own properties (the Id of a
    /// TwoStateVariable, the SourceTimestamp of a ConditionVariable).
    struct Member {
        var id: NodeId
        var name: String
        var dataType: NodeId
        var type: NodeId = UAIds.propertyType
        var children: [Member] = []
        var valueRank: Int32 = -1
    }

    /// A type's own members (no values): properties by HasProperty, state variables by HasComponent.
    private mutating func addMembers(_ members: [Member]) -> [UAReference] {
        members.map { member in
            let childReferences = addMembers(member.children)
            variable(member.id, member.name, value: .constant(.empty), dataType: member.dataType, valueRank: member.valueRank,
                     type: member.type, references: childReferences)
            return UAReference(member.type == UAIds.propertyType ? UAIds.hasProperty : UAIds.hasComponent, to: member.id)
        }
    }

    /// An event or object type under `parent` (declared by an inverse HasSubtype, so the parent
    /// lists it without naming it).
    private mutating func subtype(_ id: NodeId, _ name: String, of parent: NodeId, isAbstract: Bool = false,
                                  members: [Member] = [], more: [UAReference] = []) {
        let references = [UAReference(UAIds.hasSubtype, to: parent, forward: false)] + addMembers(members)
        add(UANode(id, .objectType, browseName: QualifiedName(name), references: references + more, isAbstract: isAbstract))
    }

    private mutating func method(_ id: NodeId, _ name: String, arguments: NodeId, _ inputs: [Argument]) -> UAReference {
        let encoded = inputs.map { VariantValue.extensionObject(ExtensionObject($0, encodingId: UAIds.Encoding.argument)) }
        variable(arguments, "InputArguments", value: .constant(.array(type: .extensionObject, values: encoded, dimensions: nil)),
                 dataType: UAIds.argument, valueRank: 1, type: UAIds.propertyType)
        add(UANode(id, .method, browseName: QualifiedName(name), references: [UAReference(UAIds.hasProperty, to: arguments)]))
        return UAReference(UAIds.hasComponent, to: id)
    }

    private static func twoState(_ id: NodeId, _ name: String, idNode: NodeId) -> Member {
        Member(id: id, name: name, dataType: UAIds.localizedText, type: UAIds.twoStateVariableType,
               children: [Member(id: idNode, name: "Id", dataType: UAIds.boolean)])
    }

    private static func conditionVariable(_ id: NodeId, _ name: String, _ dataType: NodeId, timestamp: NodeId) -> Member {
        Member(id: id, name: name, dataType: dataType, type: UAIds.conditionVariableType,
               children: [Member(id: timestamp, name: "SourceTimestamp", dataType: UAIds.utcTime)])
    }

    /// ConditionType → AcknowledgeableConditionType → AlarmConditionType → LimitAlarmType →
    /// ExclusiveLimitAlarmType, and → DiscreteAlarmType → OffNormalAlarmType (Part 9 §5.5–5.8),
    /// with the members Railgate's conditions have and their methods; the refresh and condition
    /// audit event types; the variable types of the state variables.
    mutating func addConditionTypes() {
        for (id, name, dataType) in [(UAIds.twoStateVariableType, "TwoStateVariableType", UAIds.localizedText),
                                     (UAIds.conditionVariableType, "ConditionVariableType", UAIds.baseDataType),
                                     (UAIds.finiteStateVariableType, "FiniteStateVariableType", UAIds.localizedText)] {
            add(UANode(id, .variableType, browseName: QualifiedName(name),
                       references: [UAReference(UAIds.hasSubtype, to: UAIds.baseDataVariableType, forward: false)],
                       dataType: dataType))
        }

        let refresh = method(UAIds.conditionType_ConditionRefresh, "ConditionRefresh",
                             arguments: UAIds.conditionType_ConditionRefresh_InputArguments,
                             [Argument(name: "SubscriptionId", dataType: UAIds.uInt32, valueRank: -1,
                                       description: LocalizedText("The subscription whose event items get the retained conditions"))])
        let refresh2 = method(UAIds.conditionType_ConditionRefresh2, "ConditionRefresh2",
                              arguments: UAIds.conditionType_ConditionRefresh2_InputArguments,
                              [Argument(name: "SubscriptionId", dataType: UAIds.uInt32, valueRank: -1),
                               Argument(name: "MonitoredItemId", dataType: UAIds.uInt32, valueRank: -1)])
        let addComment = method(UAIds.conditionType_AddComment, "AddComment",
                                arguments: UAIds.conditionType_AddComment_InputArguments,
                                [Argument(name: "EventId", dataType: UAIds.byteString, valueRank: -1),
                                 Argument(name: "Comment", dataType: UAIds.localizedText, valueRank: -1)])
        subtype(UAIds.conditionType, "ConditionType", of: UAIds.baseEventType, isAbstract: true, members: [
            Member(id: UAIds.conditionType_ConditionClassId, name: "ConditionClassId", dataType: UAIds.nodeId),
            Member(id: UAIds.conditionType_ConditionClassName, name: "ConditionClassName", dataType: UAIds.localizedText),
            Member(id: UAIds.conditionType_ConditionName, name: "ConditionName", dataType: UAIds.string),
            Member(id: UAIds.conditionType_BranchId, name: "BranchId", dataType: UAIds.nodeId),
            Member(id: UAIds.conditionType_Retain, name: "Retain", dataType: UAIds.boolean),
            Self.twoState(UAIds.conditionType_EnabledState, "EnabledState", idNode: UAIds.conditionType_EnabledState_Id),
            Self.conditionVariable(UAIds.conditionType_Quality, "Quality", UAIds.statusCode,
                                   timestamp: UAIds.conditionType_Quality_SourceTimestamp),
            Self.conditionVariable(UAIds.conditionType_LastSeverity, "LastSeverity", UAIds.uInt16,
                                   timestamp: UAIds.conditionType_LastSeverity_SourceTimestamp),
            Self.conditionVariable(UAIds.conditionType_Comment, "Comment", UAIds.localizedText,
                                   timestamp: UAIds.conditionType_Comment_SourceTimestamp),
            Member(id: UAIds.conditionType_ClientUserId, name: "ClientUserId", dataType: UAIds.string),
        ], more: [refresh, refresh2, addComment])
        let acknowledge = method(UAIds.acknowledgeableConditionType_Acknowledge, "Acknowledge",
                                 arguments: UAIds.acknowledgeableConditionType_Acknowledge_InputArguments,
                                 [Argument(name: "EventId", dataType: UAIds.byteString, valueRank: -1),
                                  Argument(name: "Comment", dataType: UAIds.localizedText, valueRank: -1)])
        subtype(UAIds.acknowledgeableConditionType, "AcknowledgeableConditionType", of: UAIds.conditionType, members: [
            Self.twoState(UAIds.acknowledgeableConditionType_AckedState, "AckedState",
                          idNode: UAIds.acknowledgeableConditionType_AckedState_Id),
        ], more: [acknowledge])
        subtype(UAIds.alarmConditionType, "AlarmConditionType", of: UAIds.acknowledgeableConditionType, members: [
            Self.twoState(UAIds.alarmConditionType_ActiveState, "ActiveState", idNode: UAIds.alarmConditionType_ActiveState_Id),
            Member(id: UAIds.alarmConditionType_InputNode, name: "InputNode", dataType: UAIds.nodeId),
            Member(id: UAIds.alarmConditionType_SuppressedOrShelved, name: "SuppressedOrShelved", dataType: UAIds.boolean),
        ])
        subtype(UAIds.limitAlarmType, "LimitAlarmType", of: UAIds.alarmConditionType, members: [
            Member(id: UAIds.limitAlarmType_HighHighLimit, name: "HighHighLimit", dataType: UAIds.double),
            Member(id: UAIds.limitAlarmType_HighLimit, name: "HighLimit", dataType: UAIds.double),
            Member(id: UAIds.limitAlarmType_LowLimit, name: "LowLimit", dataType: UAIds.double),
            Member(id: UAIds.limitAlarmType_LowLowLimit, name: "LowLowLimit", dataType: UAIds.double),
        ])
        // LimitState: an object whose CurrentState (with its Id) names the limit the value is at.
        let currentState = Member(id: UAIds.exclusiveLimitAlarmType_LimitState_CurrentState, name: "CurrentState",
                                  dataType: UAIds.localizedText, type: UAIds.finiteStateVariableType,
                                  children: [Member(id: UAIds.exclusiveLimitAlarmType_LimitState_CurrentState_Id, name: "Id",
                                                    dataType: UAIds.nodeId)])
        let limitState = addMembers([currentState])
        object(UAIds.exclusiveLimitAlarmType_LimitState, "LimitState", type: UAIds.exclusiveLimitStateMachineType,
               references: limitState)
        subtype(UAIds.exclusiveLimitAlarmType, "ExclusiveLimitAlarmType", of: UAIds.limitAlarmType,
                more: [UAReference(UAIds.hasComponent, to: UAIds.exclusiveLimitAlarmType_LimitState)])
        subtype(UAIds.discreteAlarmType, "DiscreteAlarmType", of: UAIds.alarmConditionType)
        subtype(UAIds.offNormalAlarmType, "OffNormalAlarmType", of: UAIds.discreteAlarmType, members: [
            Member(id: UAIds.offNormalAlarmType_NormalState, name: "NormalState", dataType: UAIds.nodeId),
        ])
        // The limit states CurrentState/Id names.
        var states: [UAReference] = []
        for (id, name) in [(UAIds.exclusiveLimitStateMachineType_HighHigh, "HighHigh"),
                           (UAIds.exclusiveLimitStateMachineType_High, "High"),
                           (UAIds.exclusiveLimitStateMachineType_Low, "Low"),
                           (UAIds.exclusiveLimitStateMachineType_LowLow, "LowLow")] {
            object(id, name)
            states.append(UAReference(UAIds.hasComponent, to: id))
        }
        subtype(UAIds.exclusiveLimitStateMachineType, "ExclusiveLimitStateMachineType", of: UAIds.baseObjectType, more: states)
        subtype(UAIds.baseConditionClassType, "BaseConditionClassType", of: UAIds.baseObjectType, isAbstract: true)
        subtype(UAIds.processConditionClassType, "ProcessConditionClassType", of: UAIds.baseConditionClassType, isAbstract: true)

        subtype(UAIds.systemEventType, "SystemEventType", of: UAIds.baseEventType, isAbstract: true)
        subtype(UAIds.refreshStartEventType, "RefreshStartEventType", of: UAIds.systemEventType)
        subtype(UAIds.refreshEndEventType, "RefreshEndEventType", of: UAIds.systemEventType)
        subtype(UAIds.auditUpdateMethodEventType, "AuditUpdateMethodEventType", of: UAIds.auditEventType, isAbstract: true,
                members: [
            Member(id: UAIds.auditUpdateMethodEventType_MethodId, name: "MethodId", dataType: UAIds.nodeId),
            Member(id: UAIds.auditUpdateMethodEventType_InputArguments, name: "InputArguments", dataType: UAIds.baseDataType,
                   valueRank: 1),
        ])
        subtype(UAIds.auditConditionEventType, "AuditConditionEventType", of: UAIds.auditUpdateMethodEventType)
        subtype(UAIds.auditConditionAcknowledgeEventType, "AuditConditionAcknowledgeEventType", of: UAIds.auditConditionEventType,
                members: [
            Member(id: UAIds.auditConditionAcknowledgeEventType_ConditionEventId, name: "ConditionEventId",
                   dataType: UAIds.byteString),
            Member(id: UAIds.auditConditionAcknowledgeEventType_Comment, name: "Comment", dataType: UAIds.localizedText),
        ])
        subtype(UAIds.auditConditionCommentEventType, "AuditConditionCommentEventType", of: UAIds.auditConditionEventType,
                members: [
            Member(id: UAIds.auditConditionCommentEventType_ConditionEventId, name: "ConditionEventId",
                   dataType: UAIds.byteString),
            Member(id: UAIds.auditConditionCommentEventType_Comment, name: "Comment", dataType: UAIds.localizedText),
        ])
        add(UANode(UAIds.hasCondition, .referenceType, browseName: QualifiedName("HasCondition"),
                   references: [UAReference(UAIds.hasSubtype, to: UAIds.nonHierarchicalReferences, forward: false)],
                   inverseName: LocalizedText("IsConditionOf")))
    }
}
