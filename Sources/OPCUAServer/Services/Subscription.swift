// Subscription service set (Part 4 §5.13): CreateSubscription,
// ModifySubscription, SetPublishingMode, Publish, Republish,
// DeleteSubscriptions. Not implemented: TransferSubscriptions.

extension UAServerCore {
    static let publishingIntervalRange = 50.0...3_600_000.0
    /// Publish requests a session may queue before the oldest is answered
    /// with BadTooManyPublishRequests.
    static let maxQueuedPublishRequests = 10

    struct RevisedTiming {
        var interval: Double
        var lifetime: UInt32
        var keepAlive: UInt32
    }

    /// Part 4 §5.13.2.2: lifetime is at least three keep-alive counts.
    static func revise(interval: Double, lifetime: UInt32, keepAlive: UInt32) -> RevisedTiming {
        let revisedInterval = interval.isFinite ? min(max(interval, publishingIntervalRange.lowerBound),
                                                      publishingIntervalRange.upperBound) : 1000
        let revisedKeepAlive = min(max(keepAlive, 1), 1_000_000)
        let revisedLifetime = min(max(lifetime, revisedKeepAlive * 3), 3_000_000)
        return RevisedTiming(interval: revisedInterval, lifetime: revisedLifetime, keepAlive: revisedKeepAlive)
    }

    func registerSubscriptions() {
        register(UAIds.Encoding.createSubscriptionRequest, UAIds.Encoding.createSubscriptionResponse) {
            (request: CreateSubscriptionRequest, context) throws(ServiceError) in
            let session = try context.requireSession()
            guard session.subscriptions.count < self.config.maxSubscriptionsPerSession else {
                throw ServiceError(.badTooManySubscriptions)
            }
            let timing = Self.revise(interval: request.requestedPublishingInterval,
                                     lifetime: request.requestedLifetimeCount, keepAlive: request.requestedMaxKeepAliveCount)
            let id = self.nextSubscriptionId
            self.nextSubscriptionId &+= 1
            session.subscriptions[id] = UASubscription(
                id: id, session: session, core: self, publishingIntervalMs: timing.interval, lifetimeCount: timing.lifetime,
                maxKeepAliveCount: timing.keepAlive, maxNotificationsPerPublish: request.maxNotificationsPerPublish,
                publishingEnabled: request.publishingEnabled, priority: request.priority)
            return CreateSubscriptionResponse(responseHeader: context.responseHeader(), subscriptionId: id,
                                              revisedPublishingInterval: timing.interval,
                                              revisedLifetimeCount: timing.lifetime, revisedMaxKeepAliveCount: timing.keepAlive)
        }

        register(UAIds.Encoding.modifySubscriptionRequest, UAIds.Encoding.modifySubscriptionResponse) {
            (request: ModifySubscriptionRequest, context) throws(ServiceError) in
            let subscription = try context.requireSubscription(request.subscriptionId)
            let timing = Self.revise(interval: request.requestedPublishingInterval,
                                     lifetime: request.requestedLifetimeCount, keepAlive: request.requestedMaxKeepAliveCount)
            subscription.publishingIntervalMs = timing.interval
            subscription.lifetimeCount = timing.lifetime
            subscription.maxKeepAliveCount = timing.keepAlive
            subscription.maxNotificationsPerPublish = request.maxNotificationsPerPublish
            subscription.priority = request.priority
            subscription.reschedule()
            return ModifySubscriptionResponse(responseHeader: context.responseHeader(),
                                              revisedPublishingInterval: timing.interval,
                                              revisedLifetimeCount: timing.lifetime, revisedMaxKeepAliveCount: timing.keepAlive)
        }

        register(UAIds.Encoding.setPublishingModeRequest, UAIds.Encoding.setPublishingModeResponse) {
            (request: SetPublishingModeRequest, context) throws(ServiceError) in
            let session = try context.requireSession()
            try self.checkOperationCount(request.subscriptionIds.count)
            let results = request.subscriptionIds.map { id -> StatusCode in
                guard let subscription = session.subscriptions[id] else { return .badSubscriptionIdInvalid }
                subscription.publishingEnabled = request.publishingEnabled
                return .good
            }
            return SetPublishingModeResponse(responseHeader: context.responseHeader(), results: results)
        }

        register(UAIds.Encoding.deleteSubscriptionsRequest, UAIds.Encoding.deleteSubscriptionsResponse) {
            (request: DeleteSubscriptionsRequest, context) throws(ServiceError) in
            let session = try context.requireSession()
            try self.checkOperationCount(request.subscriptionIds.count)
            let results = request.subscriptionIds.map { id -> StatusCode in
                guard let subscription = session.subscriptions[id] else { return .badSubscriptionIdInvalid }
                self.discard(subscription)
                return .good
            }
            return DeleteSubscriptionsResponse(responseHeader: context.responseHeader(), results: results)
        }

        registerDeferred(UAIds.Encoding.publishRequest) { (request: PublishRequest, context, reply) throws(ServiceError) in
            let session = try context.requireSession()
            let results = request.subscriptionAcknowledgements.map { ack -> StatusCode in
                guard let subscription = session.subscriptions[ack.subscriptionId] else { return .badSubscriptionIdInvalid }
                return subscription.acknowledge(ack.sequenceNumber) ? .good : .badSequenceNumberUnknown
            }
            guard !session.subscriptions.isEmpty else { throw ServiceError(.badNoSubscription) }
            session.publishQueue.append(PendingPublish(header: context.requestHeader, acknowledgementResults: results,
                                                       reply: reply))
            if session.publishQueue.count > Self.maxQueuedPublishRequests {
                let oldest = session.publishQueue.removeFirst()
                oldest.reply(self.fault(.badTooManyPublishRequests, oldest.header))
            }
            for subscription in session.subscriptions.values.sorted(by: { $0.priority > $1.priority })
            where subscription.deliverIfWaiting() {
                break
            }
        }

        register(UAIds.Encoding.republishRequest, UAIds.Encoding.republishResponse) {
            (request: RepublishRequest, context) throws(ServiceError) in
            let subscription = try context.requireSubscription(request.subscriptionId)
            guard let message = subscription.message(request.retransmitSequenceNumber) else {
                throw ServiceError(.badMessageNotAvailable)
            }
            return RepublishResponse(responseHeader: context.responseHeader(), notificationMessage: message)
        }

        registerMonitoredItems()
    }

    /// The oldest queued Publish request of a session, if any.
    func takePublishRequest(_ session: UASession) -> PendingPublish? {
        session.publishQueue.isEmpty ? nil : session.publishQueue.removeFirst()
    }

    /// A subscription whose lifetime ran out without Publish requests.
    func expire(_ subscription: UASubscription) {
        logger.info("OPC UA subscription expired", metadata: ["session": "\(subscription.session.name)",
                                                               "subscription": "\(subscription.id)"])
        discard(subscription)
    }
}
