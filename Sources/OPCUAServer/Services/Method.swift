// Method service set (Part 4 §5.11): Call, for the methods of Railgate's alarm conditions —
// Acknowledge and AddComment on a condition, ConditionRefresh and ConditionRefresh2 on the
// ConditionType (Part 9 §5.5.7, §5.5.5, §5.7.3). Each acknowledgment and comment is in the audit
// trail and raises its audit event and the condition's new state.

import RailgateCore

extension UAServerCore {
    func registerMethods() {
        register(UAIds.Encoding.callRequest, UAIds.Encoding.callResponse) {
            (request: CallRequest, context) throws(ServiceError) in
            let session = try context.requireSession()
            try self.checkOperationCount(request.methodsToCall.count)
            // A subscription is refreshed once per request (a request of 1000 refreshes of every
            // retained condition would hold the event loop); the others answer BadRefreshInProgress.
            var refreshed: Set<UInt32> = []
            let results = request.methodsToCall.map { self.call($0, session: session, refreshed: &refreshed) }
            return CallResponse(responseHeader: context.responseHeader(), results: results)
        }
    }

    func call(_ request: CallMethodRequest, session: UASession, refreshed: inout Set<UInt32>) -> CallMethodResult {
        switch request.methodId {
        case UAIds.conditionType_ConditionRefresh, UAIds.conditionType_ConditionRefresh2:
            guard request.objectId == UAIds.conditionType || request.objectId == UAIds.server else {
                return CallMethodResult(statusCode: addressSpace[request.objectId] == nil ? .badNodeIdUnknown : .badMethodInvalid)
            }
            let two = request.methodId == UAIds.conditionType_ConditionRefresh2
            let (arguments, failure) = Self.arguments(request.inputArguments, [.uInt32] + (two ? [.uInt32] : []))
            if let failure { return failure }
            guard case .uInt32(let subscriptionId) = arguments[0], let subscription = session.subscriptions[subscriptionId] else {
                return CallMethodResult(statusCode: .badSubscriptionIdInvalid)
            }
            guard refreshed.insert(subscriptionId).inserted else { return CallMethodResult(statusCode: .badRefreshInProgress) }
            var items = subscription.eventItems
            if two {
                guard case .uInt32(let itemId) = arguments[1], let item = items.first(where: { $0.id == itemId }) else {
                    return CallMethodResult(statusCode: .badMonitoredItemIdInvalid)
                }
                items = [item]
            }
            refreshConditions(items)
            return CallMethodResult(statusCode: .good)
        case UAIds.acknowledgeableConditionType_Acknowledge, UAIds.conditionType_AddComment:
            guard let alarm = addressSpace.conditionIndex[request.objectId], let alarms = addressSpace.alarms else {
                return CallMethodResult(statusCode: addressSpace[request.objectId] == nil ? .badNodeIdUnknown : .badMethodInvalid)
            }
            let (arguments, failure) = Self.arguments(request.inputArguments, [.byteString, .localizedText])
            if let failure { return failure }
            guard case .byteString(let eventId) = arguments[0], case .localizedText(let text) = arguments[1] else {
                return CallMethodResult(statusCode: .badInvalidArgument)
            }
            return conditionMethod(alarm, alarms, acknowledge: request.methodId == UAIds.acknowledgeableConditionType_Acknowledge,
                                   eventId: eventId ?? [], comment: String((text.text ?? "").prefix(1000)), session: session)
        default:
            return CallMethodResult(statusCode: addressSpace[request.methodId]?.nodeClass == .method ? .badMethodInvalid
                                        : addressSpace[request.objectId] == nil ? .badNodeIdUnknown : .badMethodInvalid)
        }
    }

    /// The input arguments as the scalars of the expected types, or the result that refuses them.
    static func arguments(_ given: [Variant], _ expected: [BuiltinType]) -> ([VariantValue], CallMethodResult?) {
        guard given.count >= expected.count else { return ([], CallMethodResult(statusCode: .badArgumentsMissing)) }
        guard given.count == expected.count else { return ([], CallMethodResult(statusCode: .badTooManyArguments)) }
        var values: [VariantValue] = []
        var results: [StatusCode] = []
        for (argument, type) in zip(given, expected) {
            if case .scalar(let value) = argument, value.type == type {
                values.append(value)
                results.append(.good)
            } else {
                results.append(.badTypeMismatch)
            }
        }
        guard results.allSatisfy({ $0 == .good }) else {
            return ([], CallMethodResult(statusCode: .badInvalidArgument, inputArgumentResults: results))
        }
        return (values, nil)
    }

    /// Acknowledge or AddComment on an alarm's condition, for the EventId of its latest event.
    private func conditionMethod(_ alarm: Int, _ alarms: AlarmEngine, acknowledge: Bool, eventId: [UInt8], comment: String,
                                 session: UASession) -> CallMethodResult {
        let user = "opcua:\(session.identity)@\(session.name)"
        let definition = alarms.definitions[alarm]
        let condition = addressSpace.conditions[alarm]
        let action = acknowledge ? "alarm acknowledge" : "alarm comment"
        func refuse(_ status: StatusCode, _ why: String, arguments: [StatusCode] = []) -> CallMethodResult {
            audit("\(action) refused", user, [("alarm", condition.sourceName + " " + definition.name), ("reason", why)])
            raise(methodAuditEvent(alarm, acknowledge: acknowledge, eventId: eventId, comment: comment, user: user, done: false))
            return CallMethodResult(statusCode: status, inputArgumentResults: arguments)
        }
        guard session.role == .operator else { return refuse(.badUserAccessDenied, "role read-only") }
        guard conditionEventIds[alarm] == eventId else {
            return refuse(.badEventIdUnknown, "not the condition's latest event", arguments: [.badEventIdUnknown, .good])
        }
        if acknowledge && addressSpace.requiresReason && comment.trimmed().isEmpty {
            return refuse(.badInvalidArgument, "Part 11 mode: an acknowledgment needs a comment", arguments: [.good, .badInvalidArgument])
        }
        let now = RailgateClock.now()
        let state: AlarmState?
        if acknowledge {
            let (refusal, acknowledged) = alarms.acknowledge(alarm, user: user, comment: comment, now: now)
            if let refusal { return refuse(.badConditionBranchAlreadyAcked, refusal) }
            state = acknowledged
        } else {
            state = alarms.comment(alarm, user: user, text: comment, now: now)
        }
        guard let state else { return CallMethodResult(statusCode: .badNodeIdUnknown) }
        audit(action, user, [("alarm", condition.sourceName + " " + definition.name), ("comment", comment),
                             ("event_id", hexText(eventId))])
        raise(methodAuditEvent(alarm, acknowledge: acknowledge, eventId: eventId, comment: comment, user: user, done: true))
        raiseCondition(alarm, state, now: now)
        return CallMethodResult(statusCode: .good)
    }

    /// AuditConditionAcknowledgeEventType or AuditConditionCommentEventType (Part 9 §5.10).
    private func methodAuditEvent(_ alarm: Int, acknowledge: Bool, eventId: [UInt8], comment: String, user: String,
                                  done: Bool) -> UAEvent {
        let now = RailgateClock.now()
        let condition = addressSpace.conditions[alarm]
        var fields = UAEvent.auditFields(actionNs: now, status: done, serverId: identity.applicationUri, clientUserId: user)
        fields["MethodId"] = .scalar(.nodeId(acknowledge ? UAIds.acknowledgeableConditionType_Acknowledge : UAIds.conditionType_AddComment))
        fields["InputArguments"] = .array(type: .variant, values: [.variant(.scalar(.byteString(eventId))),
                                                                   .variant(.scalar(.localizedText(LocalizedText(comment))))],
                                          dimensions: nil)
        fields["ConditionEventId"] = .scalar(.byteString(eventId))
        fields["Comment"] = .scalar(.localizedText(LocalizedText(comment)))
        let name = addressSpace.alarms?.definitions[alarm].name ?? ""
        return UAEvent(type: acknowledge ? UAIds.auditConditionAcknowledgeEventType : UAIds.auditConditionCommentEventType,
                       source: condition.id, sourceName: condition.sourceName, time: now,
                       message: "\(acknowledge ? "acknowledge" : "comment on") alarm \(name) by \(user)\(done ? "" : " refused")",
                       severity: done ? 100 : 500, fields: fields, notifiers: [condition.device])
    }
}

// MARK: Condition events

extension UAServerCore {
    /// Raises the state changes the alarm engine queued since the last call (every 100 ms).
    func raiseAlarmEvents() {
        guard let alarms = addressSpace.alarms else { return }
        let (changes, lost) = alarms.takeEvents()
        if lost > 0 {
            logger.warning("alarm state changes came faster than OPC UA took them; the newest are sent",
                           metadata: ["lost": "\(lost)"])
        }
        let now = RailgateClock.now()
        for change in changes { raiseCondition(change.alarm, change.state, now: now) }
    }

    /// Raises an alarm condition's event for `state` and keeps its EventId (Acknowledge names it).
    func raiseCondition(_ alarm: Int, _ state: AlarmState, now: Int64) {
        guard let alarms = addressSpace.alarms, alarms.definitions.indices.contains(alarm),
              addressSpace.conditions.indices.contains(alarm), !addressSpace.conditions[alarm].id.isNull else { return }
        let event = ConditionFields.event(alarms.definitions[alarm], state, addressSpace.conditions[alarm], now: now)
        conditionEventIds[alarm] = raise(event)
    }

    /// ConditionRefresh (Part 9 §5.5.7): to `items` (event items of one subscription), a
    /// RefreshStartEvent, the current state of every retained condition (with the EventId of its
    /// latest event), a RefreshEndEvent. The refresh markers pass every where clause.
    func refreshConditions(_ items: [MonitoredItem]) {
        func marker(_ type: NodeId, _ message: String) -> UAEvent {
            var event = UAEvent(type: type, source: UAIds.server, sourceName: "Server", time: RailgateClock.now(),
                                message: message, severity: 1)
            event.eventId = nextEventId()
            return event
        }
        let start = marker(UAIds.refreshStartEventType, "condition refresh starts")
        for item in items where item.mode != .disabled {
            guard let filter = item.eventFilter else { continue }
            item.offer(event: filter.selected(of: start, in: addressSpace)) { filter.selected(of: overflowEvent(), in: addressSpace) }
        }
        if let alarms = addressSpace.alarms {
            let now = RailgateClock.now()
            for (alarm, state) in alarms.states().enumerated() where state.retain && addressSpace.conditions.indices.contains(alarm) {
                let condition = addressSpace.conditions[alarm]
                guard !condition.id.isNull else { continue }
                var event = ConditionFields.event(alarms.definitions[alarm], state, condition, now: now)
                if let known = conditionEventIds[alarm] {
                    event.eventId = known
                } else {
                    event.eventId = nextEventId()
                    conditionEventIds[alarm] = event.eventId
                }
                deliver(event, to: items)
            }
        }
        let end = marker(UAIds.refreshEndEventType, "condition refresh ends")
        for item in items where item.mode != .disabled {
            guard let filter = item.eventFilter else { continue }
            item.offer(event: filter.selected(of: end, in: addressSpace)) { filter.selected(of: overflowEvent(), in: addressSpace) }
        }
        logger.info("condition refresh", metadata: ["items": "\(items.count)"])
    }
}
