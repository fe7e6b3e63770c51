import NIOCore
import Crypto
import X509

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

/// What the server brings to secured channels: its certificate, the
/// policies and modes it offers, and the check of a client's certificate.
public struct ChannelSecurity: Sendable {
    public var certificate: ApplicationCertificate?
    /// Policies offered (`.none` only when the configuration allows it).
    public var policies: [SecurityPolicy]
    /// Modes offered with the secure policies (sign, signAndEncrypt).
    public var modes: [MessageSecurityMode]
    /// nil when the client certificate may open a channel, else why not.
    public var checkClient: @Sendable (_ der: [UInt8]) -> SecurityError?

    public init(certificate: ApplicationCertificate?, policies: [SecurityPolicy], modes: [MessageSecurityMode],
                checkClient: @escaping @Sendable ([UInt8]) -> SecurityError?) {
        self.certificate = certificate
        self.policies = policies
        self.modes = modes
        self.checkClient = checkClient
    }

    /// Security None only: what a server without certificates offers.
    public static let noneOnly = ChannelSecurity(certificate: nil, policies: [.none], modes: [], checkClient: { _ in nil })
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
        /// A complete service request arrived: its type id and structure are `bytes` from
        /// `offset` on (a request in one unsecured chunk is read in the chunk's own bytes).
        case deliver(requestId: UInt32, bytes: [UInt8], offset: Int)
        /// The client opened (or renewed) the channel: answer the request.
        case opened(requestId: UInt32, request: OpenSecureChannelRequest)
        /// Send an Error message (if any) and close the connection.
        case close(UAErrorMessage?)
    }

    public private(set) var state = State.awaitingHello
    public let channelId: UInt32
    public private(set) var limits = TransportLimits.server
    public private(set) var policy = SecurityPolicy.none
    public private(set) var mode = MessageSecurityMode.none
    /// The client's certificate (DER) on a secured channel.
    public private(set) var clientCertificate: [UInt8]?
    /// Its public key, read from that certificate once, at OpenSecureChannel.
    public private(set) var clientKey: RSAPublicKey?
    private let security: ChannelSecurity
    /// Symmetric keys per security token: the client's for what it sends,
    /// the server's for what it receives.
    private var keys: [UInt32: (client: SymmetricKeys, server: SymmetricKeys)] = [:]
    private var serverNonce: [UInt8] = []
    public private(set) var tokenId: UInt32 = 0
    private var previousTokenId: UInt32?
    public private(set) var tokenCreatedAt: UADateTime = .null
    public private(set) var tokenLifetimeMs: UInt32 = 0
    private var lastReceivedSequence: UInt32?
    private var sendSequence: UInt32 = 0
    private var partial: (requestId: UInt32, body: [UInt8], chunks: Int)?
    /// Bytes of the request received in part (its chunks so far).
    public var pendingBytes: Int { partial?.body.count ?? 0 }

    /// Lifetimes the server grants (Part 4 §5.5.2: the server may revise).
    static let minLifetimeMs: UInt32 = 10_000
    static let maxLifetimeMs: UInt32 = 3_600_000

    public init(channelId: UInt32, maxMessageSize: Int = TransportLimits.server.maxRequestSize,
                security: ChannelSecurity = .noneOnly) {
        self.channelId = channelId
        self.security = security
        limits.maxRequestSize = maxMessageSize
        limits.maxResponseSize = maxMessageSize
    }

    /// Handles one received chunk: what to do, or nil when nothing is to be done yet.
    public mutating func receive(_ chunk: UAChunk, now: UADateTime) -> Action? {
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
                return .close(nil)
            default:
                throw UATransportError(.badTcpMessageTypeInvalid, "\(chunk.messageType.rawValue) not expected in state \(state)")
            }
        } catch let error as UATransportError {
            state = .closed
            return .close(UAErrorMessage(error.status, reason: error.reason))
        } catch let error as SecurityError {
            state = .closed
            return .close(UAErrorMessage(error.status, reason: error.reason))
        } catch {
            state = .closed
            return .close(UAErrorMessage(.badDecodingError, reason: "\(error)"))
        }
    }

    private mutating func hello(_ chunk: UAChunk) throws -> Action {
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
        return .send([UAChunk(.acknowledge, body: ack.encoded)])
    }

    private mutating func open(_ chunk: UAChunk, now: UADateTime) throws -> Action {
        guard chunk.chunkType == .final else { throw UATransportError(.badTcpMessageTypeInvalid, "multi-chunk OpenSecureChannel") }
        var header = UAReader(chunk.body)
        let requestedChannel = try header.readUInt32()
        let policyUri = try header.readString()
        let senderCertificate = try header.readByteString()
        let receiverThumbprint = try header.readByteString()
        // None is always accepted for discovery; the server core refuses
        // every other service on it when None is not offered.
        guard let requested = SecurityPolicy(rawValue: policyUri ?? ""),
              requested == .none || security.policies.contains(requested) else {
            throw UATransportError(.badSecurityPolicyRejected, "security policy \(policyUri ?? "(null)") is not offered")
        }
        if state == .open {
            guard requestedChannel == channelId else {
                throw UATransportError(.badSecureChannelIdInvalid, "renewal for channel \(requestedChannel) on channel \(channelId)")
            }
            guard requested == policy, senderCertificate == clientCertificate else {
                throw UATransportError(.badSecurityChecksFailed, "renewal with another security policy or certificate")
            }
        }
        let plain: [UInt8]
        if requested == .none {
            plain = Array(chunk.body[header.offset...])
        } else {
            plain = try openSecured(chunk, headerLength: header.offset, policy: requested, sender: senderCertificate,
                                    receiverThumbprint: receiverThumbprint)
        }
        var reader = UAReader(plain)
        let sequence = try reader.readUInt32()
        let requestId = try reader.readUInt32()
        try checkSequence(sequence)
        let typeId = try NodeId(from: &reader)
        guard typeId == UAIds.Encoding.openSecureChannelRequest else {
            throw UATransportError(.badTcpMessageTypeInvalid, "OPN carries \(typeId), not OpenSecureChannelRequest")
        }
        let request = try OpenSecureChannelRequest(from: &reader)
        if requested == .none {
            guard request.securityMode == .none else {
                throw UATransportError(.badSecurityModeRejected, "security mode \(request.securityMode.rawValue) needs a security policy")
            }
        } else {
            guard request.securityMode != .none, security.modes.contains(request.securityMode) else {
                throw UATransportError(.badSecurityModeRejected, "security mode \(request.securityMode.rawValue) is not offered with \(requested.name)")
            }
            guard state == .awaitingOpen || request.securityMode == mode else {
                throw UATransportError(.badSecurityModeRejected, "renewal with another security mode")
            }
            guard let clientNonce = request.clientNonce, clientNonce.count == requested.nonceLength else {
                throw UATransportError(.badNonceInvalid, "the client nonce must be \(requested.nonceLength) bytes")
            }
            serverNonce = UAServerCore.randomBytes(requested.nonceLength)
        }
        let newToken: UInt32
        switch request.requestType {
        case .issue where state == .awaitingOpen:
            newToken = 1
        case .renew where state == .open:
            previousTokenId = tokenId
            newToken = tokenId &+ 1
        default:
            throw UATransportError(.badTcpMessageTypeInvalid, "OpenSecureChannel request type \(request.requestType.rawValue) in state \(state)")
        }
        if requested != .none, let clientNonce = request.clientNonce {
            keys[newToken] = (client: requested.deriveKeys(secret: serverNonce, seed: clientNonce),
                              server: requested.deriveKeys(secret: clientNonce, seed: serverNonce))
            if let previousTokenId { keys = keys.filter { $0.key == previousTokenId || $0.key == newToken } }
        }
        tokenId = newToken
        policy = requested
        mode = request.securityMode
        tokenCreatedAt = now
        tokenLifetimeMs = min(max(request.requestedLifetime, Self.minLifetimeMs), Self.maxLifetimeMs)
        state = .open
        return .opened(requestId: requestId, request: request)
    }

    /// Checks and opens an asymmetrically secured OPN (Part 6 §6.7.3):
    /// the client's certificate, the thumbprint of ours, RSA decryption
    /// with our key, the client's signature and the padding. Returns the
    /// sequence header and body.
    private mutating func openSecured(_ chunk: UAChunk, headerLength: Int, policy: SecurityPolicy, sender: [UInt8]?,
                                      receiverThumbprint: [UInt8]?) throws -> [UInt8] {
        guard let own = security.certificate else {
            throw UATransportError(.badSecurityPolicyRejected, "no application certificate")
        }
        guard let der = sender, !der.isEmpty else {
            throw SecurityError(.badSecurityChecksFailed, "the client sent no certificate")
        }
        guard receiverThumbprint == own.thumbprint else {
            throw SecurityError(.badSecurityChecksFailed, "the client encrypted for another server certificate")
        }
        let key: RSAPublicKey
        do {
            key = try Self.publicKey(of: der)
        } catch {
            throw SecurityError(.badSecurityChecksFailed, "the client certificate holds no usable RSA key: \(error)")
        }
        guard policy.keySizes.contains(key.bits) else {
            throw SecurityError(.badSecurityChecksFailed, "the client key has \(key.bits) bits; \(policy.name) needs \(policy.keySizes)")
        }
        if state == .awaitingOpen, let problem = security.checkClient(der) {
            throw SecurityError(.badSecurityChecksFailed, "client certificate refused: \(problem.reason)")
        }
        let decrypted = try policy.decrypt(chunk.body[headerLength...], with: own.privateKey)
        guard decrypted.count > key.bytes + 9 else { throw SecurityError(.badSecurityChecksFailed, "OPN too short") }
        let signed = decrypted.count - key.bytes
        let signedData = chunk.header + chunk.body[..<headerLength] + decrypted[..<signed]
        guard policy.verify(decrypted[signed...], of: signedData, with: key) else {
            throw SecurityError(.badSecurityChecksFailed, "the OpenSecureChannel signature is wrong")
        }
        clientCertificate = der
        clientKey = key
        return try Self.removePadding(decrypted[..<signed], extraByte: own.privateKey.bytes > 256)
    }

    static func publicKey(of certificateDER: [UInt8]) throws -> RSAPublicKey {
        let certificate = try Certificate(derEncoded: certificateDER)
        return try RSAPublicKey(derRepresentation: Array(certificate.publicKey.subjectPublicKeyInfoBytes))
    }

    /// Strips PaddingSize, Padding and ExtraPaddingSize (Part 6 §6.7.2.5).
    static func removePadding(_ content: ArraySlice<UInt8>, extraByte: Bool) throws(SecurityError) -> [UInt8] {
        guard let last = content.last else { throw SecurityError(.badSecurityChecksFailed, "no padding") }
        var size = Int(last) + 1
        var low = last
        if extraByte {
            guard content.count >= 2 else { throw SecurityError(.badSecurityChecksFailed, "no padding") }
            low = content[content.endIndex - 2]
            size = (Int(last) << 8 | Int(low)) + 2
        }
        guard size <= content.count - 8 else { throw SecurityError(.badSecurityChecksFailed, "padding longer than the message") }
        let padding = content[(content.endIndex - size)..<(content.endIndex - (extraByte ? 1 : 0))]
        guard padding.allSatisfy({ $0 == low }) else { throw SecurityError(.badSecurityChecksFailed, "malformed padding") }
        return Array(content[..<(content.endIndex - size)])
    }

    /// PaddingSize, Padding (and ExtraPaddingSize for keys over 2048 bits)
    /// so that `length` plus the padding plus `signature` bytes fill whole blocks.
    static func padding(length: Int, signature: Int, block: Int, extraByte: Bool) -> [UInt8] {
        let overhead = extraByte ? 2 : 1
        let size = (block - (length + overhead + signature) % block) % block
        var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: size), count: size + 1)
        if extraByte { bytes.append(UInt8(truncatingIfNeeded: size >> 8)) }
        return bytes
    }

    /// The OPN response chunk for an `opened` action (signed with our key
    /// and encrypted for the client's on a secured channel).
    public mutating func openResponse(requestId: UInt32, request: OpenSecureChannelRequest, now: UADateTime) -> UAChunk {
        let response = OpenSecureChannelResponse(
            responseHeader: ResponseHeader(timestamp: now, requestHandle: request.requestHeader.requestHandle),
            serverProtocolVersion: 0,
            securityToken: ChannelSecurityToken(channelId: channelId, tokenId: tokenId, createdAt: tokenCreatedAt,
                                                revisedLifetime: tokenLifetimeMs),
            serverNonce: policy == .none ? [] : serverNonce)
        var securityHeader = UAWriter()
        securityHeader.writeUInt32(channelId)
        securityHeader.writeString(policy.uri)
        var body = UAWriter()
        body.writeUInt32(nextSendSequence())
        body.writeUInt32(requestId)
        UAIds.Encoding.openSecureChannelResponse.encode(to: &body)
        response.encode(to: &body)
        guard policy != .none, let own = security.certificate, let clientKey, let clientCertificate else {
            securityHeader.writeByteString(nil)
            securityHeader.writeByteString(nil)
            return UAChunk(.open, body: securityHeader.bytes + body.bytes)
        }
        securityHeader.writeByteString(own.der)
        securityHeader.writeByteString(Array(Insecure.SHA1.hash(data: clientCertificate)))
        let block = policy.plainBlockSize(keyBytes: clientKey.bytes)
        var plain = body.bytes
        plain += Self.padding(length: plain.count, signature: own.privateKey.bytes, block: block,
                              extraByte: clientKey.bytes > 256)
        let encryptedSize = (plain.count + own.privateKey.bytes) / block * clientKey.bytes
        let header = UAChunk.header(.open, .final, size: 8 + securityHeader.bytes.count + encryptedSize)
        do {
            let signature = try policy.sign(header + securityHeader.bytes + plain, with: own.privateKey)
            let encrypted = try policy.encrypt(plain + signature, for: clientKey)
            return UAChunk(.open, body: securityHeader.bytes + encrypted)
        } catch {
            // Cannot happen with keys that passed the checks; the client sees the channel close.
            return UAChunk(.error, body: UAErrorMessage(.badSecurityChecksFailed, reason: "\(error)").encoded)
        }
    }

    private mutating func message(_ chunk: UAChunk) throws -> Action? {
        var reader = UAReader(chunk.body)
        let channel = try reader.readUInt32()
        guard channel == channelId else {
            throw UATransportError(.badSecureChannelIdInvalid, "message for channel \(channel) on channel \(channelId)")
        }
        let token = try reader.readUInt32()
        guard token == tokenId || token == previousTokenId else {
            throw UATransportError(.badSecureChannelTokenUnknown, "unknown security token \(token)")
        }
        if token == tokenId, let previous = previousTokenId {  // the client moved to the renewed token
            previousTokenId = nil
            keys[previous] = nil
        }
        // Security None: the chunk's own bytes, read in place.
        if policy != .none { reader = UAReader(try unprotect(chunk, token: token, headerLength: reader.offset)) }
        let sequence = try reader.readUInt32()
        let requestId = try reader.readUInt32()
        try checkSequence(sequence)
        let length = reader.bytes.count - reader.offset
        switch chunk.chunkType {
        case .abort:
            partial = nil
            return nil
        case .final where partial == nil:  // a request in one chunk, the usual case
            guard length <= limits.maxRequestSize else {
                throw UATransportError(.badTcpMessageTooLarge, "request larger than \(limits.maxRequestSize) bytes")
            }
            return .deliver(requestId: requestId, bytes: reader.bytes, offset: reader.offset)
        case .intermediate, .final:
            var assembled = partial ?? (requestId, [], 0)
            guard assembled.requestId == requestId else {
                throw UATransportError(.badTcpMessageTypeInvalid, "chunk of request \(requestId) inside request \(assembled.requestId)")
            }
            guard assembled.body.count + length <= limits.maxRequestSize else {
                throw UATransportError(.badTcpMessageTooLarge, "request larger than \(limits.maxRequestSize) bytes")
            }
            assembled.body += reader.bytes[reader.offset...]
            assembled.chunks += 1
            guard assembled.chunks <= limits.maxRequestChunks else {
                throw UATransportError(.badTcpMessageTooLarge, "request in more than \(limits.maxRequestChunks) chunks")
            }
            if chunk.chunkType == .intermediate {
                partial = assembled
                return nil
            }
            partial = nil
            return .deliver(requestId: requestId, bytes: assembled.body, offset: 0)
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

    /// The sequence header and body of a symmetrically secured chunk:
    /// decrypted (SignAndEncrypt), its HMAC checked, its padding removed. Secured channels only:
    /// `message` reads a Security None chunk in place.
    private func unprotect(_ chunk: UAChunk, token: UInt32, headerLength: Int) throws -> [UInt8] {
        guard let tokenKeys = keys[token] else {
            throw UATransportError(.badSecureChannelTokenUnknown, "no keys for security token \(token)")
        }
        let content = mode == .signAndEncrypt ? try tokenKeys.client.decrypt(chunk.body[headerLength...])
                                              : Array(chunk.body[headerLength...])
        let length = SecurityPolicy.symmetricSignatureLength
        guard content.count >= length + 8 else { throw SecurityError(.badSecurityChecksFailed, "chunk too short") }
        let signed = content.count - length
        guard tokenKeys.client.isValidSignature(content[signed...],
                                                for: chunk.header + chunk.body[..<headerLength] + content[..<signed]) else {
            throw SecurityError(.badSecurityChecksFailed, "the chunk's signature is wrong")
        }
        if mode == .signAndEncrypt { return try Self.removePadding(content[..<signed], extraByte: false) }
        return Array(content[..<signed])
    }

    /// Writes a response body (type id + structure) as one unsecured MSG chunk straight into
    /// `buffer` — the common case of a Security None channel and a response that fits the
    /// client's buffer — and gives true; false (nothing written) when the channel is secured or
    /// the body needs several chunks or exceeds the client's limits: `responseChunks` then.
    public mutating func writeResponse(requestId: UInt32, body: [UInt8], into buffer: inout ByteBuffer) -> Bool {
        guard policy == .none, body.count <= limits.sendBufferSize - 24,
              limits.maxResponseSize == 0 || body.count <= limits.maxResponseSize else { return false }
        buffer.reserveCapacity(minimumWritableBytes: body.count + 24)
        buffer.writeInteger(UInt32(0x4647_534D), endianness: .little)  // "MSGF"
        buffer.writeInteger(UInt32(body.count + 24), endianness: .little)
        buffer.writeInteger(channelId, endianness: .little)
        buffer.writeInteger(tokenId, endianness: .little)
        buffer.writeInteger(nextSendSequence(), endianness: .little)
        buffer.writeInteger(requestId, endianness: .little)
        buffer.writeBytes(body)
        return true
    }

    /// Splits a response body (type id + structure) into MSG chunks that fit
    /// the client's receive buffer, signed and encrypted as the channel's
    /// mode asks. Nil when it exceeds the client's limits.
    public mutating func responseChunks(requestId: UInt32, body: [UInt8]) -> [UAChunk]? {
        // Header 8 + channel id 4 + token id 4, then the sequence header 8.
        var room = limits.sendBufferSize - 24
        if policy != .none {
            room -= SecurityPolicy.symmetricSignatureLength
            if mode == .signAndEncrypt {
                let block = SecurityPolicy.blockSize
                room = (limits.sendBufferSize - 16) / block * block - 8 - SecurityPolicy.symmetricSignatureLength - 1
            }
        }
        let count = max(1, (body.count + room - 1) / room)
        if limits.maxResponseSize > 0 && body.count > limits.maxResponseSize { return nil }
        if limits.maxResponseChunks > 0 && count > limits.maxResponseChunks { return nil }
        var chunks: [UAChunk] = []
        chunks.reserveCapacity(count)
        for index in 0..<count {
            let part = body[min(body.count, index * room)..<min(body.count, (index + 1) * room)]
            let chunkType: UAChunk.ChunkType = index == count - 1 ? .final : .intermediate
            var writer = UAWriter(capacity: part.count + 80)
            writer.writeUInt32(channelId)
            writer.writeUInt32(tokenId)
            writer.writeUInt32(nextSendSequence())
            writer.writeUInt32(requestId)
            writer.writeBytes(part)
            guard policy != .none, let tokenKeys = keys[tokenId] else {
                chunks.append(UAChunk(.message, chunkType, body: writer.bytes))
                continue
            }
            chunks.append(protect(.message, chunkType, writer.bytes, keys: tokenKeys.server))
        }
        return chunks
    }

    /// Signs (and for SignAndEncrypt pads and encrypts) a symmetric chunk
    /// whose body is channel id, token id, sequence header and content.
    private func protect(_ type: UAMessageType, _ chunkType: UAChunk.ChunkType, _ body: [UInt8],
                         keys: SymmetricKeys) -> UAChunk {
        let signatureLength = SecurityPolicy.symmetricSignatureLength
        var plain = Array(body[8...])
        if mode == .signAndEncrypt {
            plain += Self.padding(length: plain.count, signature: signatureLength, block: SecurityPolicy.blockSize,
                                  extraByte: false)
        }
        let header = UAChunk.header(type, chunkType, size: 16 + plain.count + signatureLength)
        let signature = keys.sign(header + body[..<8] + plain)
        guard mode == .signAndEncrypt else { return UAChunk(type, chunkType, body: Array(body[..<8]) + plain + signature) }
        do {
            return UAChunk(type, chunkType, body: Array(body[..<8]) + (try keys.encrypt(plain + signature)))
        } catch {
            return UAChunk(.error, body: UAErrorMessage(.badSecurityChecksFailed, reason: "\(error)").encoded)
        }
    }
}
