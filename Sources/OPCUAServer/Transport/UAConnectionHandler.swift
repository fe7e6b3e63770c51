import Logging
import NIOCore

/// One client connection: runs its `SecureChannel` and hands complete
/// requests to the server core. Lives on the server's event loop.
final class UAConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = UAChunk
    typealias OutboundOut = ByteBuffer

    /// A connection must say Hello within this time (Part 6 §7.1.3 leaves it to the server).
    static let helloTimeout = TimeAmount.seconds(10)
    /// A request sent in several chunks must be complete this long after its first chunk.
    static let requestTimeout = TimeAmount.seconds(30)

    private let core: UAServerCore
    private var secure: SecureChannel
    private var context: ChannelHandlerContext?
    private var helloTimer: Scheduled<Void>?
    private var requestTimer: Scheduled<Void>?
    /// This connection is counted in `core.connectionCount`.
    private var counted = false
    /// What this connection holds of `core.bufferedRequestBytes`.
    private var buffered = 0

    static let securityStatuses: Set<StatusCode> = [.badSecurityChecksFailed, .badSecurityPolicyRejected,
                                                    .badSecurityModeRejected, .badNonceInvalid]

    init(core: UAServerCore) {
        self.core = core
        secure = SecureChannel(channelId: core.allocateChannelId(), maxMessageSize: core.config.maxMessageSize,
                               security: core.security)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Counts the connection in, or refuses it with an Error when all places are taken (once
    /// active: an Error written before would be lost).
    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        guard core.connectionCount < core.config.maxConnections else {
            warn("OPC UA connection refused: too many connections", context,
                 ["max_connections": "\(core.config.maxConnections)"])
            fail(UAErrorMessage(.badTcpNotEnoughResources, reason: "the server serves \(core.config.maxConnections) connections"))
            return
        }
        core.connectionCount += 1
        counted = true
        helloTimer = context.eventLoop.scheduleTask(in: Self.helloTimeout) { [weak self] in
            guard let self, self.secure.state == .awaitingHello else { return }
            self.fail(UAErrorMessage(.badTimeout, reason: "no Hello within 10 s"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        core.channelClosed(secure.channelId)
        self.context = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    /// Gives back this connection's place and buffered bytes, once.
    private func release() {
        helloTimer?.cancel()
        requestTimer?.cancel()
        requestTimer = nil
        core.bufferedRequestBytes -= buffered
        buffered = 0
        if counted {
            core.connectionCount -= 1
            counted = false
        }
    }

    /// Follows the request received in part: its bytes count against the server's buffer
    /// budget, and it must be complete within `requestTimeout`.
    private func account(_ context: ChannelHandlerContext) -> Bool {
        let pending = secure.pendingBytes
        core.bufferedRequestBytes += pending - buffered
        buffered = pending
        if pending == 0 {
            requestTimer?.cancel()
            requestTimer = nil
            return true
        }
        if core.bufferedRequestBytes > core.maxBufferedRequestBytes {
            warn("OPC UA connection closed: the request buffers of all connections are full", context,
                 ["buffered": "\(core.bufferedRequestBytes)", "limit": "\(core.maxBufferedRequestBytes)"])
            fail(UAErrorMessage(.badTcpNotEnoughResources, reason: "the server's request buffers are full"))
            return false
        }
        if requestTimer == nil {
            requestTimer = context.eventLoop.scheduleTask(in: Self.requestTimeout) { [weak self] in
                guard let self, let context = self.context else { return }
                self.warn("OPC UA connection closed: a request was not completed in time", context,
                          ["received": "\(self.secure.pendingBytes)"])
                self.fail(UAErrorMessage(.badTimeout, reason: "request not completed within 30 s"))
            }
        }
        return true
    }

    /// A warning about this connection, a few a minute at most.
    private func warn(_ message: Logger.Message, _ context: ChannelHandlerContext, _ metadata: Logger.Metadata) {
        guard let suppressed = core.connectionLog.admit() else { return }
        var metadata = metadata
        metadata["peer"] = "\(context.remoteAddress?.description ?? "?")"
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed) similar line(s)" }
        core.logger.warning(message, metadata: metadata)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let chunk = unwrapInboundIn(data)
        let now = UADateTime(unixNanoseconds: RailgateClock.now())
        let actions = secure.receive(chunk, now: now)
        guard account(context) else { return }
        for action in actions {
            switch action {
            case .send(let chunks):
                for chunk in chunks { write(chunk) }
                context.flush()
            case .opened(let requestId, let request):
                helloTimer?.cancel()
                core.channelOpened(secure.channelId, secure.peer)
                write(secure.openResponse(requestId: requestId, request: request, now: now))
                context.flush()
            case .deliver(let requestId, let body):
                core.handle(body, channelId: secure.channelId) { [weak self] response in
                    self?.send(response, requestId: requestId)
                }
            case .close(var error):
                if let refused = error, Self.securityStatuses.contains(refused.error) {
                    // The log says why; the client only learns that the checks failed.
                    warn("OPC UA secure channel refused", context, ["reason": "\(refused.reason ?? "")"])
                    error = UAErrorMessage(refused.error, reason: "security checks failed")
                } else if let error {
                    warn("OPC UA connection closed: malformed or refused message", context,
                         ["error": "\(error.error): \(error.reason ?? "")"])
                }
                fail(error)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let transport = error as? UATransportError {
            warn("OPC UA connection closed: malformed or refused message", context, ["error": "\(transport)"])
            fail(UAErrorMessage(transport.status, reason: transport.reason))
        } else {
            fail(UAErrorMessage(.badTcpInternalError, reason: "\(error)"))
        }
    }

    /// Sends a response, chunked to the client's buffer; one too large for
    /// the client's limits becomes a ServiceFault.
    private func send(_ response: UAResponse, requestId: UInt32) {
        guard let context, context.channel.isActive else { return }
        let body = response.bytes
        if secure.policy == .none {
            var buffer = context.channel.allocator.buffer(capacity: body.count + 24)
            if secure.writeResponse(requestId: requestId, body: body, into: &buffer) {
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
                return
            }
        }
        var chunks = secure.responseChunks(requestId: requestId, body: body)
        if chunks == nil {
            let fault = core.fault(.badResponseTooLarge, RequestHeader())
            chunks = secure.responseChunks(requestId: requestId, body: fault.bytes)
        }
        for chunk in chunks ?? [] { write(chunk) }
        context.flush()
    }

    private func write(_ chunk: UAChunk) {
        guard let context else { return }
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: chunk.bytes)), promise: nil)
    }

    /// Sends an Error message (when given) and closes the connection.
    private func fail(_ error: UAErrorMessage?) {
        guard let context else { return }
        if let error {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(
                bytes: UAChunk(.error, body: error.encoded).bytes)), promise: nil)
        }
        context.close(promise: nil)
    }
}
