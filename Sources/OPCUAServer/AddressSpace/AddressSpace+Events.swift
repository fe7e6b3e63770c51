import RailgateCore

extension AddressSpaceBuilder {
    /// The event types Railgate raises (Part 5 §6.4) with the properties clients select, under
    /// BaseObjectType; Railgate's own types in namespace `typesNamespace`.
    mutating func addEventTypes(typesNamespace ns: UInt16) {
        func eventType(_ id: NodeId, _ name: String, namespace: UInt16 = 0, subtypes: [NodeId] = [], isAbstract: Bool = false,
                       properties: [(NodeId, String, NodeId)]) {
            add(UANode(id, .objectType, browseName: QualifiedName(name, namespace: namespace),
                       references: subtypes.map { UAReference(UAIds.hasSubtype, to: $0) }
                           + properties.map { UAReference(UAIds.hasProperty, to: $0.0) },
                       isAbstract: isAbstract))
            for (property, browseName, dataType) in properties {
                variable(property, browseName, namespace: namespace == 0 || property.namespace == 0 ? 0 : namespace,
                         value: .constant(.empty), dataType: dataType, type: UAIds.propertyType)
            }
        }
        let configuration = RailgateEventTypes.configurationChange(ns)
        eventType(UAIds.baseEventType, "BaseEventType", subtypes: [UAIds.auditEventType, UAIds.eventQueueOverflowEventType],
                  isAbstract: true, properties: [
            (UAIds.baseEventType_EventId, "EventId", UAIds.byteString),
            (UAIds.baseEventType_EventType, "EventType", UAIds.nodeId),
            (UAIds.baseEventType_SourceNode, "SourceNode", UAIds.nodeId),
            (UAIds.baseEventType_SourceName, "SourceName", UAIds.string),
            (UAIds.baseEventType_Time, "Time", UAIds.utcTime),
            (UAIds.baseEventType_ReceiveTime, "ReceiveTime", UAIds.utcTime),
            (UAIds.baseEventType_Message, "Message", UAIds.localizedText),
            (UAIds.baseEventType_Severity, "Severity", UAIds.uInt16),
        ])
        eventType(UAIds.eventQueueOverflowEventType, "EventQueueOverflowEventType", properties: [])
        eventType(UAIds.auditEventType, "AuditEventType", subtypes: [UAIds.auditSecurityEventType, UAIds.auditUpdateEventType],
                  isAbstract: true, properties: [
            (UAIds.auditEventType_ActionTimeStamp, "ActionTimeStamp", UAIds.utcTime),
            (UAIds.auditEventType_Status, "Status", UAIds.boolean),
            (UAIds.auditEventType_ServerId, "ServerId", UAIds.string),
            (UAIds.auditEventType_ClientAuditEntryId, "ClientAuditEntryId", UAIds.string),
            (UAIds.auditEventType_ClientUserId, "ClientUserId", UAIds.string),
        ])
        eventType(UAIds.auditSecurityEventType, "AuditSecurityEventType", subtypes: [UAIds.auditSessionEventType],
                  isAbstract: true, properties: [])
        eventType(UAIds.auditSessionEventType, "AuditSessionEventType", subtypes: [UAIds.auditActivateSessionEventType],
                  isAbstract: true, properties: [(UAIds.auditSessionEventType_SessionId, "SessionId", UAIds.nodeId)])
        eventType(UAIds.auditActivateSessionEventType, "AuditActivateSessionEventType", properties: [
            (UAIds.auditActivateSessionEventType_SecureChannelId, "SecureChannelId", UAIds.string),
        ])
        eventType(UAIds.auditUpdateEventType, "AuditUpdateEventType", subtypes: [UAIds.auditWriteUpdateEventType, configuration],
                  isAbstract: true, properties: [])
        eventType(UAIds.auditWriteUpdateEventType, "AuditWriteUpdateEventType", properties: [
            (UAIds.auditWriteUpdateEventType_AttributeId, "AttributeId", UAIds.uInt32),
            (UAIds.auditWriteUpdateEventType_IndexRange, "IndexRange", UAIds.string),
            (UAIds.auditWriteUpdateEventType_OldValue, "OldValue", UAIds.baseDataType),
            (UAIds.auditWriteUpdateEventType_NewValue, "NewValue", UAIds.baseDataType),
        ])
        eventType(configuration, "ConfigurationChangeEventType", namespace: ns, properties: [
            (NodeId("ConfigurationChangeEventType/Action", namespace: ns), "Action", UAIds.string),
            (NodeId("ConfigurationChangeEventType/ConfigurationFile", namespace: ns), "ConfigurationFile", UAIds.string),
            (NodeId("ConfigurationChangeEventType/ConfigurationDigest", namespace: ns), "ConfigurationDigest", UAIds.string),
            (NodeId("ConfigurationChangeEventType/Comment", namespace: ns), "Comment", UAIds.string),
        ])
    }
}
