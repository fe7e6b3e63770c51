import NIOCore
import Testing
@testable import OPCUAServer
import RailgateCore

struct SubscriptionTests {
    func subscribe(_ server: ServerHarness, items: [NodeId], filter: ExtensionObject = .null) throws -> UInt32 {
        let created = try server.call(CreateSubscriptionRequest(requestHeader: server.header, requestedPublishingInterval: 100,
                                                                requestedLifetimeCount: 30, requestedMaxKeepAliveCount: 3,
                                                                publishingEnabled: true),
                                      UAIds.Encoding.createSubscriptionRequest, as: CreateSubscriptionResponse.self).get()
        let monitored = try server.call(CreateMonitoredItemsRequest(
            requestHeader: server.header, subscriptionId: created.subscriptionId, timestampsToReturn: .both,
            itemsToCreate: items.enumerated().map { index, node in
                MonitoredItemCreateRequest(itemToMonitor: ReadValueId(nodeId: node, attributeId: AttributeId.value),
                                           monitoringMode: .reporting,
                                           requestedParameters: MonitoringParameters(clientHandle: UInt32(index + 1),
                                                                                     samplingInterval: 50, filter: filter,
                                                                                     queueSize: 2, discardOldest: true))
            }), UAIds.Encoding.createMonitoredItemsRequest, as: CreateMonitoredItemsResponse.self).get()
        #expect(monitored.results.allSatisfy { $0.statusCode == .good })
        return created.subscriptionId
    }

    /// Queues one Publish request and returns what arrives (now or after `advance`).
    func publish(_ server: ServerHarness, acks: [SubscriptionAcknowledgement] = [], advance: Int64 = 0) throws -> PublishResponse? {
        var writer = UAWriter()
        UAIds.Encoding.publishRequest.encode(to: &writer)
        PublishRequest(requestHeader: server.header, subscriptionAcknowledgements: acks).encode(to: &writer)
        var answer: UAResponse?
        server.core.handle(writer.bytes, channelId: 1) { answer = $0 }
        if advance > 0 { server.loop.advanceTime(by: .milliseconds(advance)) }
        guard let answer else { return nil }
        var reader = UAReader(answer.bytes)
        #expect(try NodeId(from: &reader) == UAIds.Encoding.publishResponse)
        return try PublishResponse(from: &reader)
    }

    func changes(_ response: PublishResponse?) throws -> [MonitoredItemNotification] {
        try response?.notificationMessage.notificationData.compactMap {
            try $0.decode(DataChangeNotification.self, encodingId: UAIds.Encoding.dataChangeNotification)
        }.flatMap(\.monitoredItems) ?? []
    }

    @Test func dataChangesArePublishedAndAcknowledged() throws {
        let server = ServerHarness()
        server.openSession()
        server.store(0, SampleValue(uint: 1450))
        let id = try subscribe(server, items: [NodeId("acme/l1/m1/speed", namespace: 1)])
        let first = try publish(server, advance: 150)
        #expect(try changes(first).map(\.value.value) == [.scalar(.uInt16(1450))])
        #expect(first?.subscriptionId == id && first?.notificationMessage.sequenceNumber == 1)
        // No change: nothing until the keep-alive (3 intervals).
        let idle = try publish(server, acks: [SubscriptionAcknowledgement(subscriptionId: id, sequenceNumber: 1)], advance: 150)
        #expect(idle == nil)
        server.store(0, SampleValue(uint: 1500))
        server.loop.advanceTime(by: .milliseconds(150))
        // The queued request was answered with the change (checked through Republish).
        let republished = try server.call(RepublishRequest(requestHeader: server.header, subscriptionId: id,
                                                           retransmitSequenceNumber: 2),
                                          UAIds.Encoding.republishRequest, as: RepublishResponse.self).get()
        let notification = try republished.notificationMessage.notificationData[0]
            .decode(DataChangeNotification.self, encodingId: UAIds.Encoding.dataChangeNotification)
        #expect(notification?.monitoredItems.map(\.value.value) == [.scalar(.uInt16(1500))])
        // The acknowledged first message is gone.
        #expect(server.call(RepublishRequest(requestHeader: server.header, subscriptionId: id, retransmitSequenceNumber: 1),
                            UAIds.Encoding.republishRequest, as: RepublishResponse.self).failureStatus == .badMessageNotAvailable)
    }

    @Test func keepAliveAfterQuietIntervals() throws {
        let server = ServerHarness()
        server.openSession()
        server.store(0, SampleValue(uint: 1))
        _ = try subscribe(server, items: [NodeId("acme/l1/m1/speed", namespace: 1)])
        _ = try publish(server, advance: 150)
        let keepAlive = try publish(server, advance: 400)
        #expect(keepAlive != nil)
        #expect(try changes(keepAlive).isEmpty)
        #expect(keepAlive?.notificationMessage.sequenceNumber == 2)
    }

    @Test func absoluteDeadbandFilters() throws {
        let server = ServerHarness()
        server.openSession()
        server.store(1, SampleValue(double: 230))
        let filter = ExtensionObject(DataChangeFilter(trigger: .statusValue, deadbandType: 1, deadbandValue: 1),
                                     encodingId: UAIds.Encoding.dataChangeFilter)
        _ = try subscribe(server, items: [NodeId("acme/l1/m1/voltage", namespace: 1)], filter: filter)
        _ = try publish(server, advance: 150)
        server.store(1, SampleValue(double: 230.5))
        server.loop.advanceTime(by: .milliseconds(150))
        server.store(1, SampleValue(double: 232))
        let response = try publish(server, advance: 150)
        #expect(try changes(response).map(\.value.value) == [.scalar(.float(232))])
    }

    @Test func badFiltersAndLimits() throws {
        let server = ServerHarness(maxMonitoredItems: 1)
        server.openSession()
        // Percent deadband on a tag without an EU range.
        let percent = ExtensionObject(DataChangeFilter(trigger: .statusValue, deadbandType: 2, deadbandValue: 5),
                                      encodingId: UAIds.Encoding.dataChangeFilter)
        let created = try server.call(CreateSubscriptionRequest(requestHeader: server.header, requestedPublishingInterval: 100,
                                                                publishingEnabled: true),
                                      UAIds.Encoding.createSubscriptionRequest, as: CreateSubscriptionResponse.self).get()
        func create(_ node: String, _ filter: ExtensionObject) throws -> StatusCode {
            try server.call(CreateMonitoredItemsRequest(requestHeader: server.header, subscriptionId: created.subscriptionId,
                itemsToCreate: [MonitoredItemCreateRequest(itemToMonitor: ReadValueId(nodeId: NodeId(node, namespace: 1),
                                                                                      attributeId: AttributeId.value),
                                                           monitoringMode: .reporting,
                                                           requestedParameters: MonitoringParameters(filter: filter, queueSize: 1))]),
                UAIds.Encoding.createMonitoredItemsRequest, as: CreateMonitoredItemsResponse.self).get().results[0].statusCode
        }
        #expect(try create("acme/l1/m1/speed", percent) == .badDeadbandFilterInvalid)
        #expect(try create("nope", .null) == .badNodeIdUnknown)
        #expect(try create("acme/l1/m1/voltage", percent) == .good)
        #expect(try create("acme/l1/m1/speed", .null) == .badTooManyMonitoredItems)
    }

    @Test func publishWithoutSubscriptionsFaults() throws {
        let server = ServerHarness()
        server.openSession()
        #expect(server.call(PublishRequest(requestHeader: server.header), UAIds.Encoding.publishRequest,
                            as: PublishResponse.self).failureStatus == .badNoSubscription)
    }
}

struct QueueBudgetTests {
    func item(_ id: UInt32, _ budget: QueueBudget) -> MonitoredItem {
        MonitoredItem(id: id, item: ReadValueId(), clientHandle: id, mode: .reporting, samplingIntervalMs: 100,
                      queueSize: 10, discardOldest: true, trigger: .statusValue, deadband: 0, timestamps: .both,
                      budget: budget)
    }

    func value(_ n: Int) -> DataValue { DataValue(value: .scalar(.int32(Int32(n)))) }

    @Test func allItemsTogetherHoldNoMoreThanTheBudget() {
        let budget = QueueBudget(limit: 3)
        let a = item(1, budget)
        let other = item(2, budget)
        for n in 0..<5 { a.offer(value(n)) }
        #expect(a.queue.count == 3 && budget.used == 3)
        // The budget is spent: the other item keeps only its last value, a's new values replace its queued ones.
        other.offer(value(100))
        #expect(other.queue.isEmpty && other.last == value(100))
        a.offer(value(5))
        #expect(a.queue.count == 3 && budget.used == 3)
        #expect(a.queue.last?.status.map { $0.rawValue & 0x480 } == 0x480)
        // What is taken, trimmed or freed is given back.
        #expect(a.take() != nil && budget.used == 2)
        other.offer(value(101))
        #expect(other.queue.count == 1 && budget.used == 3)
        a.trim(to: 0)
        #expect(budget.used == 1)
    }

    @Test func aFreedItemGivesItsValuesBack() {
        let budget = QueueBudget(limit: 10)
        var held: MonitoredItem? = item(1, budget)
        for n in 0..<4 { held?.offer(value(n)) }
        #expect(budget.used == 4)
        held = nil
        #expect(budget.used == 0)
    }
}
