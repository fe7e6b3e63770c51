import RailgateCore

/// One event the server raises (Part 5 §6.4.2 BaseEventType and its subtypes): the
/// fields every event has, and the fields of its type by browse name (`OldValue`,
/// `ClientUserId`, …; a field of a field as `Parent/Child`).
public struct UAEvent: Sendable {
    public var eventId: [UInt8]
    public var eventType: NodeId
    public var sourceNode: NodeId
    public var sourceName: String
    public var time: UADateTime
    public var receiveTime: UADateTime
    public var message: LocalizedText
    /// 1 (least) … 1000 (most severe).
    public var severity: UInt16
    public var fields: [String: Variant]
    /// The objects whose event monitored items see it (the Server object sees every event).
    public var notifiers: [NodeId]

    public init(type: NodeId, source: NodeId, sourceName: String, time: Int64, message: String, severity: UInt16,
                fields: [String: Variant] = [:], notifiers: [NodeId] = []) {
        eventId = []
        eventType = type
        sourceNode = source
        self.sourceName = sourceName
        self.time = UADateTime(unixNanoseconds: time)
        receiveTime = self.time
        self.message = LocalizedText(message)
        self.severity = severity
        self.fields = fields
        self.notifiers = notifiers
    }

    /// The value of a field by its browse path (names joined by `/`), null when the event has none.
    public func field(_ path: String) -> Variant {
        switch path {
        case "EventId": .scalar(.byteString(eventId))
        case "EventType": .scalar(.nodeId(eventType))
        case "SourceNode": .scalar(.nodeId(sourceNode))
        case "SourceName": .scalar(.string(sourceName))
        case "Time": .scalar(.dateTime(time))
        case "ReceiveTime": .scalar(.dateTime(receiveTime))
        case "Message": .scalar(.localizedText(message))
        case "Severity": .scalar(.uInt16(severity))
        default: fields[path] ?? .empty
        }
    }

    /// The standard fields of the audit event types (Part 5 §6.4.3).
    static func auditFields(actionNs: Int64, status: Bool, serverId: String, clientUserId: String,
                            clientAuditEntryId: String = "") -> [String: Variant] {
        ["ActionTimeStamp": .scalar(.dateTime(UADateTime(unixNanoseconds: actionNs))), "Status": .scalar(.boolean(status)),
         "ServerId": .scalar(.string(serverId)), "ClientAuditEntryId": .scalar(.string(clientAuditEntryId)),
         "ClientUserId": .scalar(.string(clientUserId))]
    }
}

/// Railgate's own event types, in its types namespace.
public enum RailgateEventTypes {
    public static let namespaceUri = "urn:railgate:types"
    /// A configuration was committed, confirmed or rolled back (subtype of AuditUpdateEventType):
    /// fields `Action`, `ConfigurationFile`, `ConfigurationDigest`, `Comment`.
    static func configurationChange(_ ns: UInt16) -> NodeId { NodeId("ConfigurationChangeEventType", namespace: ns) }
}
