/// Limits negotiated with Hello/Acknowledge (Part 6 §7.1.2.3).
public struct TransportLimits: Sendable, Equatable {
    /// Largest chunk this server accepts / sends.
    public var receiveBufferSize: Int
    public var sendBufferSize: Int
    /// Largest assembled message either side accepts (0: no limit).
    public var maxRequestSize: Int
    public var maxResponseSize: Int
    /// Most chunks in one message (0: no limit).
    public var maxRequestChunks: Int
    public var maxResponseChunks: Int

    /// What Railgate offers before negotiation.
    public static let server = TransportLimits(receiveBufferSize: 65535, sendBufferSize: 65535,
                                               maxRequestSize: 16 << 20, maxResponseSize: 16 << 20,
                                               maxRequestChunks: 4096, maxResponseChunks: 4096)
}

/// The security policy of a channel. Only None is offered today; the
/// signing and encrypting policies plug in here (asymmetric for OPN,
/// symmetric for MSG/CLO) without changing the channel state machine.
public struct SecurityPolicy: Sendable, Equatable {
    public var uri: String
    public static let none = SecurityPolicy(uri: "http://opcfoundation.org/UA/SecurityPolicy#None")
}

/// One UA Secure Conversation channel (Part 6 §6.7): Hello/Acknowledge,
/// OpenSecureChannel issue and renew, sequence numbers, chunk assembly and
/// response chunking. A pure state machine: it takes chunks and returns
/// actions; `UAConnectionHandler` does the I/O.
public struct SecureChannel: Sendable {
    public enum State: Sendable, Equatable { case awaitingHello, awaitingOpen, open, closed }

    public enum Action: Sendable, Equatable {
        /// Write these chunks.
        case send([UAChunk])
        /// A complete service request arrived.
        case deliver(requestId: UInt32, body: [UInt8])
        /// The client opened (or renewed) the channel: answer the request.
        case opened(requestId: UInt32, request: OpenSecureChannelRequest)
        /// Send an Error message (if any) and close the connection.
        case close(UAErrorMessage?)
    }

    public private(set) var state = State.awaitingHello
    public let channelId: UInt32
    public private(set) var limits = TransportLimits.server
    public private(set) var policy = SecurityPolicy.none
    public private(set) var tokenId: UInt32 = 0
    private var previousTokenId: UInt32?
    public private(set) var tokenCreatedAt: UADateTime = .null
    public private(set) var tokenLifetimeMs: UInt32 = 0
    private var lastReceivedSequence: UInt32?
    private var sendSequence: UInt32 = 0
    private var partial: (requestId: UInt32, body: [UInt8], chunks: Int)?

    /// Lifetimes the server grants (Part 4 §5.5.2: the server may revise).
    static let minLifetimeMs: UInt32 = 10_000
    static let maxLifetimeMs: UInt32 = 3_600_000

    public init(channelId: UInt32, maxMessageSize: Int = TransportLimits.server.maxRequestSize) {
        self.channelId = channelId
        limits.maxRequestSize = maxMessageSize
        limits.maxResponseSize = maxMessageSize
    }

    /// Handles one received chunk.
    public mutating func receive(_ chunk: UAChunk, now: UADateTime) -> [Action] {
        do {
            guard chunk.body.count + 8 <= limits.receiveBufferSize else {
                throw UATransportError(.badTcpMessageTooLarge,
                                       "chunk of \(chunk.body.count + 8) bytes exceeds the negotiated \(limits.receiveBufferSize)")
            }
            switch (state, chunk.messageType) {
            case (.awaitingHello, .hello): return try hello(chunk)
            case (.awaitingOpen, .open), (.open, .open): return try open(chunk, now: now)
            case (.open, .message):
                try checkTokenLifetime(now)
                return try message(chunk)
            case (.open, .close):
                state = .closed
                return [.close(nil)]
            default:
                throw UATransportError(.badTcpMessageTypeInvalid, "\(chunk.messageType.rawValue) not expected in state \(state)")
            }
        } catch let error as UATransportError {
            state = .closed
            return [.close(UAErrorMessage(error.status, reason: error.reason))]
        } catch {
            state = .closed
            return [.close(UAErrorMessage(.badDecodingError, reason: "\(error)"))]
        }
    }

    private mutating func hello(_ chunk: UAChunk) throws -> [Action] {
        guard chunk.chunkType == .final else { throw UATransportError(.badTcpMessageTypeInvalid, "Hello must be a final chunk") }
        let hello = try UAHello(decoding: chunk.body)
        // Part 6 §7.1.2.3: buffers are at least 8192 bytes.
        guard hello.receiveBufferSize >= 8192, hello.sendBufferSize >= 8192 else {
            throw UATransportError(.badTcpInternalError, "buffer sizes below 8192 bytes")
        }
        if let url = hello.endpointUrl, url.utf8.count > 4096 {
            throw UATransportError(.badTcpEndpointUrlInvalid, "endpoint URL longer than 4096 bytes")
        }
        limits.receiveBufferSize = min(limits.receiveBufferSize, Int(hello.sendBufferSize))
        limits.sendBufferSize = min(limits.sendBufferSize, Int(hello.receiveBufferSize))
        if hello.maxMessageSize > 0 { limits.maxResponseSize = min(limits.maxResponseSize, Int(hello.maxMessageSize)) }
        if hello.maxChunkCount > 0 { limits.maxResponseChunks = min(limits.maxResponseChunks, Int(hello.maxChunkCount)) }
        state = .awaitingOpen
        let ack = UAAcknowledge(protocolVersion: 0, receiveBufferSize: UInt32(limits.receiveBufferSize),
                                sendBufferSize: UInt32(limits.sendBufferSize), maxMessageSize: UInt32(limits.maxRequestSize),
                                maxChunkCount: UInt32(limits.maxRequestChunks))
        return [.send([UAChunk(.acknowledge, body: ack.encoded)])]
    }

    private mutating func open(_ chunk: UAChunk, now: UADateTime) throws -> [Action] {
        guard chunk.chunkType == .final else { throw UATransportError(.badTcpMessageTypeInvalid, "multi-chunk OpenSecureChannel") }
        var reader = UAReader(chunk.body)
        let requestedChannel = try reader.readUInt32()
        let policyUri = try reader.readString()
        _ = try reader.readByteString()  // sender certificate
        _ = try reader.readByteString()  // receiver certificate thumbprint
        guard policyUri == SecurityPolicy.none.uri else {
            throw UATransportError(.badSecurityPolicyRejected, "security policy \(policyUri ?? "(null)") is not offered")
        }
        if state == .open && requestedChannel != channelId {
            throw UATransportError(.badSecureChannelIdInvalid, "renewal for channel \(requestedChannel) on channel \(channelId)")
        }
        let sequence = try reader.readUInt32()
        let requestId = try reader.readUInt32()
        try checkSequence(sequence)
        let typeId = try NodeId(from: &reader)
        guard typeId == UAIds.Encoding.openSecureChannelRequest else {
            throw UATransportError(.badTcpMessageTypeInvalid, "OPN carries \(typeId), not OpenSecureChannelRequest")
        }
        let request = try OpenSecureChannelRequest(from: &reader)
        guard request.securityMode == .none else {
            throw UATransportError(.badSecurityModeRejected, "security mode \(request.securityMode.rawValue) needs a security policy")
        }
        switch request.requestType {
        case .issue where state == .awaitingOpen:
            tokenId = 1
        case .renew where state == .open:
            previousTokenId = tokenId
            tokenId &+= 1
        default:
            throw UATransportError(.badTcpMessageTypeInvalid, "OpenSecureChannel request type \(request.requestType.rawValue) in state \(state)")
        }
        tokenCreatedAt = now
        tokenLifetimeMs = min(max(request.requestedLifetime, Self.minLifetimeMs), Self.maxLifetimeMs)
        state = .open
        return [.opened(requestId: requestId, request: request)]
    }

    /// The OPN response chunk for an `opened` action.
    public mutating func openResponse(requestId: UInt32, request: OpenSecureChannelRequest, now: UADateTime) -> UAChunk {
        let response = OpenSecureChannelResponse(
            responseHeader: ResponseHeader(timestamp: now, requestHandle: request.requestHeader.requestHandle),
            serverProtocolVersion: 0,
            securityToken: ChannelSecurityToken(channelId: channelId, tokenId: tokenId, createdAt: tokenCreatedAt,
                                                revisedLifetime: tokenLifetimeMs),
            serverNonce: [])
        var writer = UAWriter()
        writer.writeUInt32(channelId)
        writer.writeString(policy.uri)
        writer.writeByteString(nil)
        writer.writeByteString(nil)
        writer.writeUInt32(nextSendSequence())
        writer.writeUInt32(requestId)
        UAIds.Encoding.openSecureChannelResponse.encode(to: &writer)
        response.encode(to: &writer)
        return UAChunk(.open, body: writer.bytes)
    }

    private mutating func message(_ chunk: UAChunk) throws -> [Action] {
        var reader = UAReader(chunk.body)
        let channel = try reader.readUInt32()
        guard channel == channelId else {
            throw UATransportError(.badSecureChannelIdInvalid, "message for channel \(channel) on channel \(channelId)")
        }
        let token = try reader.readUInt32()
        guard token == tokenId || token == previousTokenId else {
            throw UATransportError(.badSecureChannelTokenUnknown, "unknown security token \(token)")
        }
        if token == tokenId { previousTokenId = nil }  // the client moved to the renewed token
        let sequence = try reader.readUInt32()
        let requestId = try reader.readUInt32()
        try checkSequence(sequence)
        let part = Array(chunk.body[reader.offset...])
        switch chunk.chunkType {
        case .abort:
            partial = nil
            return []
        case .intermediate, .final:
            var assembled = partial ?? (requestId, [], 0)
            guard assembled.requestId == requestId else {
                throw UATransportError(.badTcpMessageTypeInvalid, "chunk of request \(requestId) inside request \(assembled.requestId)")
            }
            assembled.body += part
            assembled.chunks += 1
            guard assembled.body.count <= limits.maxRequestSize else {
                throw UATransportError(.badTcpMessageTooLarge, "request larger than \(limits.maxRequestSize) bytes")
            }
            guard assembled.chunks <= limits.maxRequestChunks else {
                throw UATransportError(.badTcpMessageTooLarge, "request in more than \(limits.maxRequestChunks) chunks")
            }
            if chunk.chunkType == .intermediate {
                partial = assembled
                return []
            }
            partial = nil
            return [.deliver(requestId: requestId, body: assembled.body)]
        }
    }

    /// Part 4 §5.5.2: a client renews its token before 75 % of its lifetime;
    /// a token used past 125 % of it has expired, and so has the channel.
    private func checkTokenLifetime(_ now: UADateTime) throws {
        let ageMs = (now.ticks - tokenCreatedAt.ticks) / 10_000
        guard ageMs <= Int64(tokenLifetimeMs) * 5 / 4 else {
            throw UATransportError(.badSecureChannelTokenUnknown, "security token expired \(ageMs) ms after it was issued")
        }
    }

    /// Part 6 §6.7.2.4: each chunk's sequence number is one more than the
    /// previous (wrapping below 1024 after passing 4294966271).
    private mutating func checkSequence(_ sequence: UInt32) throws {
        if let last = lastReceivedSequence {
            let expected = last == UInt32.max ? 0 : last + 1
            let wrapped = last > 4_294_966_271 && sequence < 1024
            guard sequence == expected || wrapped else {
                throw UATransportError(.badSequenceNumberInvalid, "sequence number \(sequence) after \(last)")
            }
        }
        lastReceivedSequence = sequence
    }

    private mutating func nextSendSequence() -> UInt32 {
        sendSequence = sendSequence >= 4_294_966_271 ? 1 : sendSequence + 1
        return sendSequence
    }

    /// Splits a response body (type id + structure) into MSG chunks that fit
    /// the client's receive buffer. Nil when it exceeds the client's limits.
    public mutating func responseChunks(requestId: UInt32, body: [UInt8]) -> [UAChunk]? {
        // Header 8 + channel id 4 + token id 4 + sequence header 8.
        let room = limits.sendBufferSize - 24
        let count = max(1, (body.count + room - 1) / room)
        if limits.maxResponseSize > 0 && body.count > limits.maxResponseSize { return nil }
        if limits.maxResponseChunks > 0 && count > limits.maxResponseChunks { return nil }
        var chunks: [UAChunk] = []
        chunks.reserveCapacity(count)
        for index in 0..<count {
            let part = body[min(body.count, index * room)..<min(body.count, (index + 1) * room)]
            var writer = UAWriter(capacity: part.count + 16)
            writer.writeUInt32(channelId)
            writer.writeUInt32(tokenId)
            writer.writeUInt32(nextSendSequence())
            writer.writeUInt32(requestId)
            writer.writeBytes(part)
            chunks.append(UAChunk(.message, index == count - 1 ? .final : .intermediate, body: writer.bytes))
        }
        return chunks
    }
}
