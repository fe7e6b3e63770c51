import Logging
import NIOCore

/// One client connection: runs its `SecureChannel` and hands complete
/// requests to the server core. Lives on the server's event loop.
final class UAConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = UAChunk
    typealias OutboundOut = ByteBuffer

    /// A connection must say Hello within this time (Part 6 §7.1.3 leaves it to the server).
    static let helloTimeout = TimeAmount.seconds(10)

    private let core: UAServerCore
    private var secure: SecureChannel
    private var context: ChannelHandlerContext?
    private var helloTimer: Scheduled<Void>?

    static let securityStatuses: Set<StatusCode> = [.badSecurityChecksFailed, .badSecurityPolicyRejected,
                                                    .badSecurityModeRejected, .badNonceInvalid]

    init(core: UAServerCore) {
        self.core = core
        secure = SecureChannel(channelId: core.allocateChannelId(), maxMessageSize: core.config.maxMessageSize,
                               security: core.security)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        helloTimer = context.eventLoop.scheduleTask(in: Self.helloTimeout) { [weak self] in
            guard let self, self.secure.state == .awaitingHello else { return }
            self.fail(UAErrorMessage(.badTimeout, reason: "no Hello within 10 s"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        helloTimer?.cancel()
        core.channelClosed(secure.channelId)
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let chunk = unwrapInboundIn(data)
        let now = UADateTime(unixNanoseconds: RailgateClock.now())
        for action in secure.receive(chunk, now: now) {
            switch action {
            case .send(let chunks):
                for chunk in chunks { write(chunk) }
                context.flush()
            case .opened(let requestId, let request):
                helloTimer?.cancel()
                core.channelOpened(secure.channelId, policy: secure.policy, mode: secure.mode,
                                   clientCertificate: secure.clientCertificate, clientKey: secure.clientKey)
                write(secure.openResponse(requestId: requestId, request: request, now: now))
                context.flush()
            case .deliver(let requestId, let body):
                core.handle(body, channelId: secure.channelId) { [weak self] response in
                    self?.send(response, requestId: requestId)
                }
            case .close(var error):
                if let refused = error, Self.securityStatuses.contains(refused.error) {
                    // The log says why; the client only learns that the checks failed.
                    core.logger.warning("OPC UA secure channel refused", metadata: [
                        "peer": "\(context.remoteAddress?.description ?? "?")", "reason": "\(refused.reason ?? "")"])
                    error = UAErrorMessage(refused.error, reason: "security checks failed")
                }
                fail(error)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let transport = error as? UATransportError {
            core.logger.debug("OPC UA connection error", metadata: ["error": "\(transport)"])
            fail(UAErrorMessage(transport.status, reason: transport.reason))
        } else {
            fail(UAErrorMessage(.badTcpInternalError, reason: "\(error)"))
        }
    }

    /// Sends a response, chunked to the client's buffer; one too large for
    /// the client's limits becomes a ServiceFault.
    private func send(_ response: UAResponse, requestId: UInt32) {
        guard let context, context.channel.isActive else { return }
        var chunks = secure.responseChunks(requestId: requestId, body: response.bytes)
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
