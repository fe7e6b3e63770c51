import Logging
import NIOCore
import RailgateConfig
import RailgateCore

/// A response ready to be sent: its encoding id and structure, or its bytes when the service
/// encoded it itself (Read).
public struct UAResponse {
    private enum Content {
        case structure(any UACodable, encodingId: NodeId)
        case encoded([UInt8])
    }
    private let content: Content

    public init<T: UACodable>(_ body: T, _ encodingId: NodeId) {
        content = .structure(body, encodingId: encodingId)
    }

    /// A response already encoded: type id + structure.
    init(encoded bytes: [UInt8]) {
        content = .encoded(bytes)
    }

    /// The structure, for responses that have one.
    public var body: (any UACodable)? {
        if case .structure(let body, _) = content { body } else { nil }
    }

    /// Type id + structure, the body of a MSG.
    public var bytes: [UInt8] {
        switch content {
        case .structure(let body, let encodingId):
            var writer = UAWriter()
            encodingId.encode(to: &writer)
            body.encode(to: &writer)
            return writer.bytes
        case .encoded(let bytes):
            return bytes
        }
    }
}

/// Where the response to a request goes: back on the connection the request came in on, under
/// its request id — or, for a server driven without connections (tests), to a closure. A value,
/// not a closure: answering the usual request allocates nothing for it.
public struct UAReply {
    private enum Target {
        case connection(UAConnectionHandler, requestId: UInt32)
        case closure((UAResponse) -> Void)
    }
    private let target: Target

    init(_ connection: UAConnectionHandler, requestId: UInt32) {
        target = .connection(connection, requestId: requestId)
    }

    public init(_ closure: @escaping (UAResponse) -> Void) {
        target = .closure(closure)
    }

    /// Sends `response` (a closed connection drops it).
    func callAsFunction(_ response: UAResponse) {
        switch target {
        case .connection(let connection, let requestId): connection.send(response, requestId: requestId)
        case .closure(let closure): closure(response)
        }
    }
}

/// The server's shared state and its service table: sessions, the address
/// space, limits. Confinement: everything here runs on the server's single
/// event loop (`rg-opcua`), which is why it needs no locks; bus threads reach
/// it only through `eventLoop.execute`.
public final class UAServerCore: @unchecked Sendable {
    public let config: OPCUAConfig
    public let addressSpace: AddressSpace
    public let identity: ServerIdentity
    public let eventLoop: any EventLoop
    let writes: WriteRouter?
    let logger: Logger
    var sessions: UASessionTable
    var nextSessionNumber: UInt32 = 1
    var nextSubscriptionId: UInt32 = 1
    var monitoredItemCount = 0
    /// Events raised since start (the EventId counter).
    var nextEventNumber: UInt64 = 0
    /// What every monitored item's queue draws from (`opcua.max_queued_values`).
    let queueBudget: QueueBudget
    /// Client connections open now (each UAConnectionHandler counts itself in and out).
    var connectionCount = 0
    /// Bytes of requests received in part, over every connection.
    var bufferedRequestBytes = 0
    /// What all connections together may hold of requests received in part: a few slow
    /// senders must not take the gateway's memory, one large request still fits.
    var maxBufferedRequestBytes: Int { max(2 * config.maxMessageSize, 32 << 20) }
    /// Malformed or refused connections are logged at warning, a few lines a minute.
    let connectionLog = LogThrottle()
    var nextChannelId: UInt32 = 1
    private var sweeper: RepeatedTask?
    /// Takes the alarm engine's state changes and raises their condition events.
    private var alarmTimer: RepeatedTask?
    /// The EventId of each alarm condition's latest event (Acknowledge and AddComment name it).
    var conditionEventIds: [Int: [UInt8]] = [:]
    /// The certificate, policies and modes secured channels use.
    public let security: ChannelSecurity
    /// Security None is among the offered policies (then every channel may call every service).
    private let offersNone: Bool
    /// Policy, mode and client certificate of each open channel.
    var channels: [UInt32: ChannelPeer] = [:]

    /// Read's buffers, reused from request to request (Services/Read.swift).
    var readScratch = ReadScratch()

    /// Request handler by request encoding id; one entry per implemented service.
    typealias Handler = (inout UAReader, ServiceContext, UAReply) throws -> Void
    /// By the numeric identifier of the request's encoding id: every service request type is a
    /// numeric NodeId of namespace 0 (no NodeId hashed per request).
    private(set) var services: [UInt32: Handler] = [:]

    /// Records a security event in the audit trail: event, user, details.
    public typealias Audit = @Sendable (String, String, [(String, String)]) -> Void
    let audit: Audit

    public init(config: OPCUAConfig, addressSpace: AddressSpace, identity: ServerIdentity, eventLoop: any EventLoop,
                writes: WriteRouter?, logger: Logger, security: ChannelSecurity = .noneOnly,
                audit: @escaping Audit = { _, _, _ in }) {
        self.config = config
        sessions = UASessionTable(capacity: config.maxSessions)
        queueBudget = QueueBudget(limit: config.maxQueuedValues)
        self.security = security
        offersNone = security.policies.contains(.none)
        self.audit = audit
        self.addressSpace = addressSpace
        self.identity = identity
        self.eventLoop = eventLoop
        self.writes = writes
        self.logger = logger
        registerServices()
        sweeper = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            self?.closeExpiredSessions()
        }
        if addressSpace.alarms != nil {
            alarmTimer = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [weak self] _ in
                self?.raiseAlarmEvents()
            }
        }
    }

    /// Stops the server's timers and lets go of what it holds: its sessions (their subscriptions
    /// stop, queued Publish requests are answered BadSessionClosed), channels and services. The
    /// services' closures hold the core itself: without this a stopped core — its sessions, its
    /// address space and the tag table of a configuration replaced by a commit — would never be
    /// freed.
    func stop() {
        raiseAlarmEvents()
        flushNotifications()
        sweeper?.cancel()
        sweeper = nil
        alarmTimer?.cancel()
        alarmTimer = nil
        for token in sessions.tokens { removeSession(token) }
        channels.removeAll()
        services.removeAll()
    }

    /// A channel was opened or renewed (UAConnectionHandler).
    func channelOpened(_ id: UInt32, _ peer: ChannelPeer) {
        channels[id] = peer
    }

    static let discoveryRequests: Set<NodeId> = [UAIds.Encoding.getEndpointsRequest, UAIds.Encoding.findServersRequest]

    func allocateChannelId() -> UInt32 {
        defer { nextChannelId &+= 1 }
        return nextChannelId
    }

    /// Decodes one request (type id + structure, in `bytes` from `offset` on), runs its service
    /// and answers through `reply` — with a ServiceFault when the service fails. Nothing thrown
    /// by a service escapes this function.
    func handle(_ bytes: [UInt8], offset: Int = 0, channelId: UInt32, reply: UAReply) {
        var reader = UAReader(bytes, offset: offset)
        var header = RequestHeader()
        do {
            let typeId = try NodeId(from: &reader)
            guard let service = Self.serviceKey(typeId).flatMap({ services[$0] }) else {
                // Decode at least the header to answer with the client's request handle.
                header = (try? RequestHeader(from: &reader)) ?? RequestHeader()
                throw ServiceError(.badServiceUnsupported)
            }
            let start = reader.offset
            header = try RequestHeader(from: &reader)
            let fieldsOffset = reader.offset
            reader.seek(to: start)
            // Part 4 §5.4 / Part 6 §6.7.1: a server that does not offer Security
            // None still answers discovery on a None channel, and nothing else.
            if !offersNone, !(channels[channelId] ?? .unsecured).isSecured, !Self.discoveryRequests.contains(typeId) {
                throw ServiceError(.badSecurityPolicyRejected)
            }
            let session = sessions[header.authenticationToken]
            if let session {
                if let refusal = UASessionTable.channelRefusal(
                    of: session, channelId: channelId, isActivation: typeId == UAIds.Encoding.activateSessionRequest) {
                    throw ServiceError(refusal)
                }
                session.lastActivity = RailgateClock.now()
            }
            let context = ServiceContext(channelId: channelId, requestHeader: header, session: session,
                                         fieldsOffset: fieldsOffset)
            try service(&reader, context, reply)
        } catch let error as ServiceError {
            reply(fault(error.status, header))
        } catch let error as UADecodingError {
            logger.debug("undecodable request", metadata: ["error": "\(error)"])
            reply(fault(.badDecodingError, header))
        } catch {
            reply(fault(.badInternalError, header))
        }
    }

    /// `handle` answering through a closure (tests, tools).
    func handle(_ bytes: [UInt8], channelId: UInt32, respond: @escaping (UAResponse) -> Void) {
        handle(bytes, channelId: channelId, reply: UAReply(respond))
    }

    /// The key of `services` a request encoding id is found under, when it can be one.
    static func serviceKey(_ id: NodeId) -> UInt32? {
        guard id.namespace == 0, case .numeric(let value) = id.identifier else { return nil }
        return value
    }

    /// Registers the handler of a request encoding id.
    func setService(_ request: NodeId, _ handler: @escaping Handler) {
        guard let key = Self.serviceKey(request) else { preconditionFailure("service request ids are numeric, namespace 0") }
        services[key] = handler
    }

    func fault(_ status: StatusCode, _ header: RequestHeader) -> UAResponse {
        UAResponse(ServiceFault(responseHeader: ResponseHeader(
            timestamp: UADateTime(unixNanoseconds: RailgateClock.now()), requestHandle: header.requestHandle,
            serviceResult: status)), UAIds.Encoding.serviceFault)
    }

    /// Registers a service whose answer is ready at once.
    func register<Request: UACodable, Response: UACodable>(
        _ request: NodeId, _ response: NodeId, _ body: @escaping (Request, ServiceContext) throws(ServiceError) -> Response
    ) {
        setService(request) { reader, context, reply in
            let decoded = try Request(from: &reader)
            reply(UAResponse(try body(decoded, context), response))
        }
    }

    /// Registers a service that answers later (writes, publish).
    func registerDeferred<Request: UACodable>(
        _ request: NodeId,
        _ body: @escaping (Request, ServiceContext, UAReply) throws(ServiceError) -> Void
    ) {
        setService(request) { reader, context, reply in
            let decoded = try Request(from: &reader)
            try body(decoded, context, reply)
        }
    }

    private func registerServices() {
        registerDiscovery()
        registerSessionServices()
        registerView()
        registerAttribute()
        registerSubscriptions()
        registerHistory()
        registerMethods()
    }

    /// Part 4 §5.6.2: a session not used within its timeout is closed, with
    /// its subscriptions.
    func closeExpiredSessions() {
        let now = RailgateClock.now()
        for token in sessions.expired(now: now) {
            logger.info("OPC UA session timed out", metadata: ["session": "\(sessions[token]?.name ?? "?")"])
            removeSession(token)
        }
    }

    func removeSession(_ token: NodeId) {
        guard let session = sessions.remove(token) else { return }
        for subscription in session.subscriptions.values { discard(subscription) }
        for pending in session.publishQueue {
            pending.reply(fault(.badSessionClosed, pending.header))
        }
        session.publishQueue.removeAll()
    }

    /// Stops a subscription, removes it from its session and releases its
    /// monitored items from the server-wide count.
    func discard(_ subscription: UASubscription) {
        subscription.stop()
        monitoredItemCount -= subscription.items.count
        subscription.session.subscriptions.removeValue(forKey: subscription.id)
    }

    /// A connection closed: its sessions stay (a client may reconnect and
    /// reactivate them) but their queued Publish requests are dropped.
    func channelClosed(_ channelId: UInt32) {
        channels[channelId] = nil
        for session in sessions.sessions(onChannel: channelId) {
            session.publishQueue.removeAll()
        }
    }
}
