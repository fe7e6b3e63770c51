import Logging
import NIOCore

/// One client connection: frames the bytes it receives into chunks, runs its `SecureChannel` and
/// hands complete requests to the server core. Lives on the server's event loop.
///
/// The usual request — one unsecured chunk — costs no allocation of its own here: its body is
/// copied into a buffer the connection keeps (`chunkBytes`) and read there in place, the answer
/// goes through a `UAReply` value, and the response is written into the buffer the previous
/// response used once the socket has taken that.
final class UAConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A connection must say Hello within this time (Part 6 §7.1.3 leaves it to the server).
    static let helloTimeout = TimeAmount.seconds(10)
    /// A request sent in several chunks must be complete this long after its first chunk.
    static let requestTimeout = TimeAmount.seconds(30)
    /// A chunk begun must be complete this long after its first byte: a peer sending one byte
    /// a second would otherwise hold its connection and buffer for ever.
    static let chunkTimeout = TimeAmount.seconds(10)
    /// The buffers kept from one request to the next are let go past this capacity (a large
    /// request or response does not hold its memory for the connection's life).
    static let keptCapacity = 16 << 10

    private var framer = UAChunkFramer(maxChunkSize: TransportLimits.server.receiveBufferSize)
    private var chunkTimer: Scheduled<Void>?
    /// The body of the chunk being handled.
    private var chunkBytes: [UInt8] = []
    /// The last response's buffer.
    private var output: ByteBuffer?

    private let core: UAServerCore
    private var secure: SecureChannel
    private var context: ChannelHandlerContext?
    private var helloTimer: Scheduled<Void>?
    private var requestTimer: Scheduled<Void>?
    /// This connection is counted in `core.connectionCount`.
    private var counted = false
    /// What this connection holds of `core.bufferedRequestBytes`.
    private var buffered = 0
    /// An Error was sent or the connection is being closed: what else comes is not read.
    private var closing = false

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
        helloTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.helloTimeout) { [weak self] in
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
        chunkTimer?.cancel()
        chunkTimer = nil
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
            requestTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.requestTimeout) { [weak self] in
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
        guard !closing else { return }
        var input = unwrapInboundIn(data)
        let completed: Bool
        do {
            completed = try framer.receive(&input) { type, chunkType, body in
                chunkBytes.removeAll(keepingCapacity: chunkBytes.capacity <= Self.keptCapacity)
                chunkBytes.append(contentsOf: UnsafeBufferPointer(start: body.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                                                  count: body.count))
                return handle(UAChunk(type, chunkType, body: chunkBytes), context)
            }
        } catch {
            warn("OPC UA connection closed: malformed or refused message", context, ["error": "\(error)"])
            fail(UAErrorMessage(error.status, reason: error.reason))
            return
        }
        guard !closing else { return }
        // A whole chunk came: the next one gets its own time.
        if completed {
            chunkTimer?.cancel()
            chunkTimer = nil
        }
        if framer.pendingBytes > 0 && chunkTimer == nil {
            let seconds = Self.chunkTimeout.nanoseconds / 1_000_000_000
            chunkTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.chunkTimeout) { [weak self] in
                guard let self, let context = self.context else { return }
                self.warn("OPC UA connection closed: a chunk was not completed in time", context,
                          ["received": "\(self.framer.pendingBytes)"])
                self.fail(UAErrorMessage(.badTimeout, reason: "chunk not completed within \(seconds) s"))
            }
        }
    }

    /// Runs one chunk through the secure channel and does what it asks; false once the
    /// connection is closing.
    private func handle(_ chunk: UAChunk, _ context: ChannelHandlerContext) -> Bool {
        let now = UADateTime(unixNanoseconds: RailgateClock.now())
        let action = secure.receive(chunk, now: now)
        guard account(context) else { return false }
        switch action {
        case nil:
            break
        case .send(let chunks):
            for chunk in chunks { write(chunk) }
            context.flush()
        case .opened(let requestId, let request):
            helloTimer?.cancel()
            core.channelOpened(secure.channelId, secure.peer)
            write(secure.openResponse(requestId: requestId, request: request, now: now))
            context.flush()
        case .deliver(let requestId, let bytes, let offset):
            core.handle(bytes, offset: offset, channelId: secure.channelId, reply: UAReply(self, requestId: requestId))
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
        return !closing
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(UAErrorMessage(.badTcpInternalError, reason: "\(error)"))
    }

    /// Sends a response, chunked to the client's buffer; one too large for
    /// the client's limits becomes a ServiceFault.
    func send(_ response: UAResponse, requestId: UInt32) {
        guard let context, context.channel.isActive else { return }
        let body = response.bytes
        if secure.policy == .none {
            // The previous response's buffer: the socket has let go of it unless it is still
            // sending it (then `clear` gives this one storage of its own).
            var buffer = output ?? context.channel.allocator.buffer(capacity: body.count + 24)
            output = nil
            buffer.clear()
            if secure.writeResponse(requestId: requestId, body: body, into: &buffer) {
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
                if buffer.capacity <= Self.keptCapacity { output = buffer }
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
        guard !closing else { return }
        closing = true
        guard let context else { return }
        if let error {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(
                bytes: UAChunk(.error, body: error.encoded).bytes)), promise: nil)
        }
        context.close(promise: nil)
    }
}
