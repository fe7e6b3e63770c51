import NIOCore

/// A Publish request waiting for something to carry (Part 4 §5.13.5).
struct PendingPublish {
    var header: RequestHeader
    var acknowledgementResults: [StatusCode]
    var reply: UAReply
}

/// The values all monitored items of the server may hold queued at once: a
/// client that creates thousands of items with long queues and never sends
/// Publish must not take the gateway's memory. Past it, an item's new value
/// replaces one it holds (the overflow bit set, as with a full queue).
final class QueueBudget {
    let limit: Int
    private(set) var used = 0

    init(limit: Int) { self.limit = limit }

    var isExhausted: Bool { used >= limit }
    func take() { used += 1 }
    func give(_ count: Int) { used -= count }
}

/// One monitored item: what it watches, how it filters and its queue
/// (Part 4 §5.12). Lives on the server's event loop.
final class MonitoredItem {
    let id: UInt32
    let item: ReadValueId
    var clientHandle: UInt32
    var mode: MonitoringMode
    var samplingIntervalMs: Double
    var queueSize: Int
    var discardOldest: Bool
    var trigger: DataChangeTrigger
    /// Absolute deadband in the value's units (percent deadbands are converted with EURange).
    var deadband: Double
    var timestamps: TimestampsToReturn
    var last: DataValue?
    /// Values waiting for a Publish; every one counts against `budget`.
    private(set) var queue: [DataValue] = []
    let budget: QueueBudget
    /// Sampled every this many subscription ticks.
    var sampleEvery = 1
    /// An event monitored item (EventNotifier attribute) reports events through this filter
    /// instead of sampling a value.
    var eventFilter: CompiledEventFilter?
    /// Events waiting for a Publish (their selected fields; whether it is the overflow event);
    /// they count against `budget` too.
    private(set) var events: [(fields: [Variant], overflow: Bool)] = []
    /// Events dropped because the queue was full (Part 4 §5.12.1.5).
    private(set) var droppedEvents = 0
    /// An EventQueueOverflowEventType stands in the queue where events were dropped.
    private var overflowQueued = false

    var hasQueued: Bool { !queue.isEmpty || !events.isEmpty }

    init(id: UInt32, item: ReadValueId, clientHandle: UInt32, mode: MonitoringMode, samplingIntervalMs: Double,
         queueSize: Int, discardOldest: Bool, trigger: DataChangeTrigger, deadband: Double, timestamps: TimestampsToReturn,
         budget: QueueBudget) {
        self.budget = budget
        self.id = id
        self.item = item
        self.clientHandle = clientHandle
        self.mode = mode
        self.samplingIntervalMs = samplingIntervalMs
        self.queueSize = queueSize
        self.discardOldest = discardOldest
        self.trigger = trigger
        self.deadband = deadband
        self.timestamps = timestamps
    }

    deinit { budget.give(queue.count + events.count) }

    /// Queues an event's fields. A full queue drops its oldest (or this one, with `discardOldest`
    /// false) and puts an EventQueueOverflowEventType (`overflow`, its fields) where events went
    /// missing: first in the queue, or last (Part 4 §5.12.1.5), once until the client takes it.
    func offer(event fields: [Variant], overflow: () -> [Variant]) {
        guard events.count >= queueSize || budget.isExhausted else {
            budget.take()
            events.append((fields, false))
            return
        }
        droppedEvents += 1
        guard !events.isEmpty else { return }
        if discardOldest {
            // The overflow event takes the oldest one's place and stays first; room for the new
            // event is made by dropping the oldest after it.
            if !overflowQueued {
                events[0] = (overflow(), true)
                overflowQueued = true
            }
            guard events.count > 1 else { return }
            events.remove(at: 1)
            events.append((fields, false))
        } else if !overflowQueued {
            events[events.count - 1] = (overflow(), true)
            overflowQueued = true
        }
    }

    /// The oldest queued event, taken out.
    func takeEvent() -> [Variant]? {
        guard !events.isEmpty else { return nil }
        budget.give(1)
        let taken = events.removeFirst()
        if taken.overflow { overflowQueued = false }
        return taken.fields
    }

    /// The oldest queued value, taken out.
    func take() -> DataValue? {
        guard !queue.isEmpty else { return nil }
        budget.give(1)
        return queue.removeFirst()
    }

    /// Keeps at most `count` of the newest values.
    func trim(to count: Int) {
        if events.count > count {
            budget.give(events.count - count)
            events.removeFirst(events.count - count)
        }
        guard queue.count > count else { return }
        budget.give(queue.count - count)
        queue.removeFirst(queue.count - count)
    }

    /// Takes a new sample; queues it when it passes the data change filter
    /// (Part 4 §7.22.2). Only in reporting mode are queued values published.
    func offer(_ value: DataValue) {
        defer { last = value }
        if let last, !isChange(from: last, to: value) { return }
        if queue.count >= queueSize || budget.isExhausted {
            // Part 4 §5.12.1.5: drop one and flag the overflow on what remains. With the server's
            // budget spent and nothing of its own queued, the item keeps only `last`.
            guard !queue.isEmpty else { return }
            if discardOldest { queue.removeFirst() } else { queue.removeLast() }
            var flagged = value
            let status = flagged.status ?? .good
            flagged.status = StatusCode(rawValue: status.rawValue | 0x0000_0480)
            queue.append(flagged)
            return
        }
        budget.take()
        queue.append(value)
    }

    private func isChange(from old: DataValue, to new: DataValue) -> Bool {
        if (old.status ?? .good) != (new.status ?? .good) { return true }
        if trigger == .status { return false }
        if trigger == .statusValueTimestamp && old.sourceTimestamp != new.sourceTimestamp { return true }
        if deadband > 0, let a = old.value?.numeric, let b = new.value?.numeric {
            return abs(a - b) > deadband
        }
        return old.value != new.value
    }
}

extension Variant {
    /// A numeric scalar as Double (for deadbands), else nil.
    var numeric: Double? {
        guard case .scalar(let value) = self else { return nil }
        switch value {
        case .sByte(let v): return Double(v)
        case .byte(let v): return Double(v)
        case .int16(let v): return Double(v)
        case .uInt16(let v): return Double(v)
        case .int32(let v): return Double(v)
        case .uInt32(let v): return Double(v)
        case .int64(let v): return Double(v)
        case .uInt64(let v): return Double(v)
        case .float(let v): return Double(v)
        case .double(let v): return v
        default: return nil
        }
    }
}

/// One subscription (Part 4 §5.13): samples its items, and each publishing
/// interval answers a queued Publish request with notifications, or with a
/// keep-alive after `maxKeepAliveCount` empty intervals; it expires after
/// `lifetimeCount` intervals without a Publish request to answer.
final class UASubscription {
    let id: UInt32
    unowned let session: UASession
    unowned let core: UAServerCore
    var publishingIntervalMs: Double
    var lifetimeCount: UInt32
    var maxKeepAliveCount: UInt32
    var maxNotificationsPerPublish: UInt32
    var publishingEnabled: Bool
    var priority: UInt8
    var items: [UInt32: MonitoredItem] = [:] {
        didSet { eventItemsKnown = nil }
    }
    private var eventItemsKnown: [MonitoredItem]?
    /// The event monitored items among `items`: what an event is offered to (found again after
    /// items change, once).
    var eventItems: [MonitoredItem] {
        if let known = eventItemsKnown { return known }
        let found = items.values.filter { $0.eventFilter != nil }.sorted { $0.id < $1.id }
        eventItemsKnown = found
        return found
    }
    var nextItemId: UInt32 = 1
    private var sequenceNumber: UInt32 = 1
    /// Sent messages kept for Republish until acknowledged (at most 10).
    private(set) var retransmission: [NotificationMessage] = []
    private var keepAliveCounter: UInt32
    private var lifetimeCounter: UInt32 = 0
    /// Ticks run on the event loop's clock; intervals are counted in ticks.
    private var tickCount = 0
    private var publishEvery = 1
    private var task: RepeatedTask?

    init(id: UInt32, session: UASession, core: UAServerCore, publishingIntervalMs: Double, lifetimeCount: UInt32,
         maxKeepAliveCount: UInt32, maxNotificationsPerPublish: UInt32, publishingEnabled: Bool, priority: UInt8) {
        self.id = id
        self.session = session
        self.core = core
        self.publishingIntervalMs = publishingIntervalMs
        self.lifetimeCount = lifetimeCount
        self.maxKeepAliveCount = maxKeepAliveCount
        self.maxNotificationsPerPublish = maxNotificationsPerPublish
        self.publishingEnabled = publishingEnabled
        self.priority = priority
        // The first publishing cycle sends a keep-alive when there is nothing else.
        keepAliveCounter = maxKeepAliveCount
        reschedule()
    }

    /// (Re)starts the timer at the fastest of the publishing and sampling
    /// intervals; each interval becomes a whole number of ticks.
    func reschedule() {
        task?.cancel()
        let fastest = items.values.map(\.samplingIntervalMs).min() ?? publishingIntervalMs
        let tick = max(10, min(publishingIntervalMs, fastest))
        publishEvery = max(1, Int((publishingIntervalMs / tick).rounded()))
        for item in items.values { item.sampleEvery = max(1, Int((item.samplingIntervalMs / tick).rounded())) }
        tickCount = 0
        task = core.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(Int64(tick)),
                                                   delay: .milliseconds(Int64(tick))) { [weak self] _ in
            self?.tick()
        }
    }

    func stop() {
        task?.cancel()
        task = nil
    }

    private func tick() {
        tickCount += 1
        for item in items.values where item.mode != .disabled && item.eventFilter == nil && tickCount % item.sampleEvery == 0 {
            item.offer(core.read(item.item, timestamps: item.timestamps))
        }
        if tickCount % publishEvery == 0 { publishCycle() }
    }

    var hasNotifications: Bool {
        publishingEnabled && items.values.contains { $0.mode == .reporting && $0.hasQueued }
    }

    /// One publishing interval (Part 4 §5.13.1.2 state table, simplified to
    /// its observable behaviour).
    func publishCycle() {
        if hasNotifications {
            if let request = core.takePublishRequest(session) {
                send(to: request)
            } else {
                countLifetime()
            }
            return
        }
        keepAliveCounter += 1
        guard keepAliveCounter >= maxKeepAliveCount else { return }
        if let request = core.takePublishRequest(session) {
            sendKeepAlive(to: request)
        } else {
            countLifetime()
        }
    }

    private func countLifetime() {
        lifetimeCounter += 1
        if lifetimeCounter >= lifetimeCount { core.expire(self) }
    }

    /// Answers a Publish request now if there is anything to send (a late
    /// request arriving after notifications queued up).
    func deliverIfWaiting() -> Bool {
        guard hasNotifications, let request = core.takePublishRequest(session) else { return false }
        send(to: request)
        return true
    }

    private func send(to request: PendingPublish) {
        var notifications: [MonitoredItemNotification] = []
        var events: [EventFieldList] = []
        let limit = maxNotificationsPerPublish == 0 ? Int.max : Int(maxNotificationsPerPublish)
        for item in items.values.sorted(by: { $0.id < $1.id }) where item.mode == .reporting {
            while notifications.count + events.count < limit, let value = item.take() {
                notifications.append(MonitoredItemNotification(clientHandle: item.clientHandle, value: value))
            }
            while notifications.count + events.count < limit, let fields = item.takeEvent() {
                events.append(EventFieldList(clientHandle: item.clientHandle, eventFields: fields))
            }
        }
        var data: [ExtensionObject] = []
        if !notifications.isEmpty || events.isEmpty {
            data.append(ExtensionObject(DataChangeNotification(monitoredItems: notifications),
                                        encodingId: UAIds.Encoding.dataChangeNotification))
        }
        if !events.isEmpty {
            data.append(ExtensionObject(EventNotificationList(events: events), encodingId: UAIds.Encoding.eventNotificationList))
        }
        let message = NotificationMessage(
            sequenceNumber: sequenceNumber, publishTime: UADateTime(unixNanoseconds: RailgateClock.now()),
            notificationData: data)
        sequenceNumber = sequenceNumber == UInt32.max ? 1 : sequenceNumber + 1
        retransmission.append(message)
        if retransmission.count > 10 { retransmission.removeFirst() }
        keepAliveCounter = 0
        lifetimeCounter = 0
        respond(request, message: message, more: hasNotifications)
    }

    private func sendKeepAlive(to request: PendingPublish) {
        keepAliveCounter = 0
        lifetimeCounter = 0
        // A keep-alive carries the next sequence number without using it.
        respond(request, message: NotificationMessage(sequenceNumber: sequenceNumber,
                                                      publishTime: UADateTime(unixNanoseconds: RailgateClock.now())),
                more: false)
    }

    private func respond(_ request: PendingPublish, message: NotificationMessage, more: Bool) {
        let response = PublishResponse(
            responseHeader: ResponseHeader(timestamp: UADateTime(unixNanoseconds: RailgateClock.now()),
                                           requestHandle: request.header.requestHandle),
            subscriptionId: id, availableSequenceNumbers: retransmission.map(\.sequenceNumber),
            moreNotifications: more, notificationMessage: message, results: request.acknowledgementResults)
        request.reply(UAResponse(response, UAIds.Encoding.publishResponse))
    }

    /// Removes an acknowledged message; false when it is not held.
    func acknowledge(_ sequence: UInt32) -> Bool {
        guard let index = retransmission.firstIndex(where: { $0.sequenceNumber == sequence }) else { return false }
        retransmission.remove(at: index)
        return true
    }

    func message(_ sequence: UInt32) -> NotificationMessage? {
        retransmission.first { $0.sequenceNumber == sequence }
    }
}
