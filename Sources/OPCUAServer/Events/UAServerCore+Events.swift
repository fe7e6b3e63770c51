import NIOCore
import RailgateCore

extension UAServerCore {
    /// Hands an event to every event monitored item watching one of its notifiers (or the Server
    /// object) whose filter it passes. On the server's event loop.
    /// Returns the event's EventId.
    @discardableResult
    func raise(_ event: UAEvent) -> [UInt8] {
        var event = event
        event.eventId = nextEventId()
        for session in sessions.values {
            for subscription in session.subscriptions.values where !subscription.eventItems.isEmpty {
                deliver(event, to: subscription.eventItems)
            }
        }
        return event.eventId
    }

    /// Offers an event to those of `items` that watch one of its notifiers and whose filter it passes.
    func deliver(_ event: UAEvent, to items: [MonitoredItem]) {
        for item in items where item.mode != .disabled {
            guard let filter = item.eventFilter else { continue }
            let watched = item.item.nodeId
            guard watched == UAIds.server || event.notifiers.contains(watched) else { continue }
            if let fields = filter.fields(of: event, in: addressSpace) {
                item.offer(event: fields) { filter.selected(of: overflowEvent(), in: addressSpace) }
            }
        }
    }

    /// The event that stands for events an item's full queue dropped.
    func overflowEvent() -> UAEvent {
        var event = UAEvent(type: UAIds.eventQueueOverflowEventType, source: UAIds.server, sourceName: "Server",
                            time: RailgateClock.now(), message: "event queue overflow: events were dropped", severity: 500)
        event.eventId = nextEventId()
        return event
    }

    /// EventId: unique per server run — the server's start time and a counter (16 bytes).
    func nextEventId() -> [UInt8] {
        nextEventNumber &+= 1
        var id: [UInt8] = []
        LittleEndian.append(identity.startTime.ticks, to: &id)
        LittleEndian.append(nextEventNumber, to: &id)
        return id
    }

    /// Answers the Publish requests waiting with what is queued, so that events raised just
    /// before the server stops (a configuration commit) reach their clients. Returns whether
    /// notifications remain that wait for a Publish request.
    @discardableResult
    func flushNotifications() -> Bool {
        var remaining = false
        for session in sessions.values {
            for subscription in session.subscriptions.values.sorted(by: { $0.id < $1.id }) {
                while subscription.deliverIfWaiting() {}
                if subscription.hasNotifications { remaining = true }
            }
        }
        return remaining
    }

    /// The CreateMonitoredItems result of an event monitored item (attribute EventNotifier of a
    /// notifier object), and the item when it is created.
    func eventItem(_ create: MonitoredItemCreateRequest, node: UANode, subscription: UASubscription,
                   timestamps: TimestampsToReturn) -> (MonitoredItemCreateResult, MonitoredItem?) {
        guard node.nodeClass == .object, node.eventNotifier & UANode.subscribeToEvents != 0 else {
            return (MonitoredItemCreateResult(statusCode: .badAttributeIdInvalid), nil)
        }
        let parameters = create.requestedParameters
        guard parameters.filter.typeId == UAIds.Encoding.eventFilter else {
            return (MonitoredItemCreateResult(statusCode: parameters.filter.isNull ? .badMonitoredItemFilterInvalid
                                                                                  : .badFilterNotAllowed), nil)
        }
        guard let filter = try? parameters.filter.decode(EventFilter.self, encodingId: UAIds.Encoding.eventFilter) else {
            return (MonitoredItemCreateResult(statusCode: .badMonitoredItemFilterInvalid), nil)
        }
        let (compiled, result, status) = CompiledEventFilter.compile(filter)
        let filterResult = ExtensionObject(result, encodingId: UAIds.Encoding.eventFilterResult)
        guard let compiled, status == .good else {
            return (MonitoredItemCreateResult(statusCode: status, filterResult: filterResult), nil)
        }
        // Part 4 §5.12.1.5: 0 asks for the server's default; events come in bursts (a DCMD of writes).
        let queueSize = parameters.queueSize == 0 ? Self.defaultEventQueueSize
            : min(max(Int(parameters.queueSize), 1), Self.maxQueueSize)
        let id = subscription.nextItemId
        subscription.nextItemId &+= 1
        let item = MonitoredItem(id: id, item: create.itemToMonitor, clientHandle: parameters.clientHandle,
                                 mode: create.monitoringMode, samplingIntervalMs: 0, queueSize: queueSize,
                                 discardOldest: parameters.discardOldest, trigger: .statusValue, deadband: 0,
                                 timestamps: timestamps, budget: queueBudget)
        item.eventFilter = compiled
        return (MonitoredItemCreateResult(statusCode: .good, monitoredItemId: id, revisedSamplingInterval: 0,
                                          revisedQueueSize: UInt32(queueSize), filterResult: filterResult), item)
    }

    static let defaultEventQueueSize = 100
}

extension UAServerCore {
    /// ModifyMonitoredItems of an event item: a new EventFilter (or the same) and queue size.
    func modifyEventItem(_ item: MonitoredItem, _ parameters: MonitoringParameters) -> MonitoredItemModifyResult {
        var filterResult = ExtensionObject.null
        if !parameters.filter.isNull {
            guard parameters.filter.typeId == UAIds.Encoding.eventFilter,
                  let filter = try? parameters.filter.decode(EventFilter.self, encodingId: UAIds.Encoding.eventFilter) else {
                return MonitoredItemModifyResult(statusCode: .badMonitoredItemFilterInvalid)
            }
            let (compiled, result, status) = CompiledEventFilter.compile(filter)
            filterResult = ExtensionObject(result, encodingId: UAIds.Encoding.eventFilterResult)
            guard let compiled, status == .good else {
                return MonitoredItemModifyResult(statusCode: status, filterResult: filterResult)
            }
            item.eventFilter = compiled
        }
        item.clientHandle = parameters.clientHandle
        item.queueSize = parameters.queueSize == 0 ? Self.defaultEventQueueSize
            : min(max(Int(parameters.queueSize), 1), Self.maxQueueSize)
        item.discardOldest = parameters.discardOldest
        item.trim(to: item.queueSize)
        return MonitoredItemModifyResult(statusCode: .good, revisedSamplingInterval: 0,
                                         revisedQueueSize: UInt32(item.queueSize), filterResult: filterResult)
    }
}

// MARK: The events Railgate raises

extension UAServerCore {
    /// AuditWriteUpdateEventType for a write to a tag, from any north side (OPC UA, MQTT,
    /// console): who, old and new value, outcome. Source: the tag's variable; notifiers: its
    /// device object (and the Server object).
    func writeEvent(_ record: WriteAuditRecord) -> UAEvent? {
        guard let index = record.tag, let table = addressSpace.table, table.tags.indices.contains(index),
              addressSpace.tagNodes.indices.contains(index) else { return nil }
        let tag = table.tags[index]
        var fields = UAEvent.auditFields(actionNs: record.timestamp, status: record.outcome == .done,
                                         serverId: identity.applicationUri, clientUserId: record.origin)
        fields["AttributeId"] = .scalar(.uInt32(AttributeId.value))
        fields["IndexRange"] = .scalar(.string(nil))
        if let old = record.old, old.sample.quality.hasValue { fields["OldValue"] = TagValue.variant(tag, old) }
        fields["NewValue"] = Self.variant(record.value, for: tag)
        let device = addressSpace.tagDevices.indices.contains(index) ? addressSpace.tagDevices[index] : .null
        return UAEvent(type: UAIds.auditWriteUpdateEventType, source: addressSpace.tagNodes[index], sourceName: tag.path,
                       time: record.timestamp, message: "write \(tag.path) = \(record.value): \(record.outcome)",
                       severity: record.outcome == .done ? 100 : 500, fields: fields,
                       notifiers: device.isNull ? [] : [device])
    }

    /// A written value as the tag's DataType (a code of a mapped tag as its text).
    static func variant(_ value: RailgateCore.WriteValue, for tag: Tag) -> Variant {
        switch value {
        case .number(let number): TagValue.variant(tag, sampleValue(number, as: tag))
        case .bool(let flag): .scalar(.boolean(flag))
        case .text(let text): .scalar(.string(text))
        }
    }

    /// AuditActivateSessionEventType: a session activated, or refused.
    func activationEvent(_ session: UASession, channelId: UInt32, user: String, succeeded: Bool, detail: String) -> UAEvent {
        let now = RailgateClock.now()
        var fields = UAEvent.auditFields(actionNs: now, status: succeeded, serverId: identity.applicationUri, clientUserId: user)
        fields["SessionId"] = .scalar(.nodeId(session.sessionId))
        fields["SecureChannelId"] = .scalar(.string("\(channelId)"))
        return UAEvent(type: UAIds.auditActivateSessionEventType, source: UAIds.server, sourceName: "Session/ActivateSession",
                       time: now, message: succeeded ? "session \(session.name) activated for \(user)"
                           : "session \(session.name) refused for \(user): \(detail)",
                       severity: succeeded ? 100 : 600, fields: fields)
    }

    /// Railgate's ConfigurationChangeEventType: a commit, rollback or confirm.
    func configurationEvent(action: String, user: String, file: String, digest: String, comment: String) -> UAEvent {
        let now = RailgateClock.now()
        var fields = UAEvent.auditFields(actionNs: now, status: true, serverId: identity.applicationUri, clientUserId: user)
        fields["Action"] = .scalar(.string(action))
        fields["ConfigurationFile"] = .scalar(.string(file))
        fields["ConfigurationDigest"] = .scalar(.string(digest))
        fields["Comment"] = .scalar(.string(comment))
        let ns = UInt16(addressSpace.namespaces.firstIndex(of: RailgateEventTypes.namespaceUri) ?? 0)
        return UAEvent(type: RailgateEventTypes.configurationChange(ns), source: UAIds.server, sourceName: "Configuration",
                       time: now, message: "configuration \(action) by \(user)\(comment.isEmpty ? "" : ": \(comment)")",
                       severity: 300, fields: fields)
    }
}

extension UAServer {
    /// Raises the OPC UA event of a write (AuditWriteUpdateEventType); from any thread.
    public func recordWrite(_ record: WriteAuditRecord) {
        guard acceptsEvents.load(ordering: .acquiring) else { return }
        let core = self.core
        core.eventLoop.execute {
            if let event = core.writeEvent(record) { core.raise(event) }
        }
    }

    /// Raises a ConfigurationChangeEventType; from any thread. Raised before `stop`, it reaches the
    /// clients with a Publish request waiting.
    public func raiseConfigurationChange(action: String, user: String, file: String, digest: String, comment: String) {
        guard acceptsEvents.load(ordering: .acquiring) else { return }
        let core = self.core
        core.eventLoop.execute {
            core.raise(core.configurationEvent(action: action, user: user, file: file, digest: digest, comment: comment))
        }
    }
}
