import NIOCore
import Testing
@testable import OPCUAServer

struct SecureChannelTests {
    let now = UADateTime(unixNanoseconds: 1_700_000_000_000_000_000)

    func hello(buffer: UInt32 = 65535) -> UAChunk {
        UAChunk(.hello, body: UAHello(receiveBufferSize: buffer, sendBufferSize: buffer, maxMessageSize: 0,
                                      maxChunkCount: 0, endpointUrl: "opc.tcp://gw:4840").encoded)
    }

    func open(sequence: UInt32 = 1, type: SecurityTokenRequestType = .issue, channel: UInt32 = 0,
              policy: String = SecurityPolicy.none.uri) -> UAChunk {
        var w = UAWriter()
        w.writeUInt32(channel)
        w.writeString(policy)
        w.writeByteString(nil)
        w.writeByteString(nil)
        w.writeUInt32(sequence)
        w.writeUInt32(1)
        UAIds.Encoding.openSecureChannelRequest.encode(to: &w)
        OpenSecureChannelRequest(requestType: type, securityMode: .none, requestedLifetime: 60_000).encode(to: &w)
        return UAChunk(.open, body: w.bytes)
    }

    func message(_ channel: UInt32, token: UInt32 = 1, sequence: UInt32, request: UInt32 = 7,
                 type: UAChunk.ChunkType = .final, body: [UInt8]) -> UAChunk {
        var w = UAWriter()
        w.writeUInt32(channel)
        w.writeUInt32(token)
        w.writeUInt32(sequence)
        w.writeUInt32(request)
        w.writeBytes(body)
        return UAChunk(.message, type, body: w.bytes)
    }

    struct Delivered: Equatable {
        var requestId: UInt32
        var body: [UInt8]
    }

    /// The request a `.deliver` hands on: its id and its bytes from where they begin.
    func delivered(_ action: SecureChannel.Action?) -> Delivered? {
        guard case .deliver(let requestId, let bytes, let offset)? = action else { return nil }
        return Delivered(requestId: requestId, body: Array(bytes[offset...]))
    }

    func opened() -> SecureChannel {
        var channel = SecureChannel(channelId: 5)
        _ = channel.receive(hello(), now: now)
        _ = channel.receive(open(), now: now)
        return channel
    }

    @Test func helloIsAcknowledgedWithNegotiatedLimits() throws {
        var channel = SecureChannel(channelId: 5)
        let actions = channel.receive(hello(buffer: 8192), now: now)
        guard case .send(let chunks)? = actions else { Issue.record("expected an Acknowledge"); return }
        #expect(chunks[0].messageType == .acknowledge)
        let ack = try UAAcknowledge(decoding: chunks[0].body)
        #expect(ack.receiveBufferSize == 8192 && ack.sendBufferSize == 8192)
        // Golden header: "ACKF" and size 28.
        #expect(Array(chunks[0].bytes[0..<8]) == [0x41, 0x43, 0x4B, 0x46, 28, 0, 0, 0])
    }

    @Test func tinyBuffersAreRejected() {
        var channel = SecureChannel(channelId: 5)
        guard case .close(let error)? = channel.receive(hello(buffer: 1024), now: now) else {
            Issue.record("expected close")
            return
        }
        #expect(error?.error == .badTcpInternalError)
    }

    @Test func openIssuesATokenAndRenewalReplacesIt() throws {
        var channel = SecureChannel(channelId: 5)
        _ = channel.receive(hello(), now: now)
        guard case .opened(let id, let request)? = channel.receive(open(), now: now) else {
            Issue.record("expected opened")
            return
        }
        let chunk = channel.openResponse(requestId: id, request: request, now: now)
        var reader = UAReader(chunk.body)
        #expect(try reader.readUInt32() == 5)
        #expect(try reader.readString() == SecurityPolicy.none.uri)
        _ = try reader.readByteString()
        _ = try reader.readByteString()
        _ = try reader.readUInt32()
        _ = try reader.readUInt32()
        #expect(try NodeId(from: &reader) == UAIds.Encoding.openSecureChannelResponse)
        let response = try OpenSecureChannelResponse(from: &reader)
        #expect(response.securityToken.channelId == 5 && response.securityToken.tokenId == 1)
        #expect(response.securityToken.revisedLifetime == 60_000)
        guard case .opened? = channel.receive(open(sequence: 2, type: .renew, channel: 5), now: now) else {
            Issue.record("expected renewal")
            return
        }
        #expect(channel.tokenId == 2)
        // The old token stays usable until the client switches.
        #expect(delivered(channel.receive(message(5, token: 1, sequence: 3, body: [1]), now: now)) == Delivered(requestId: 7, body: [1]))
        #expect(delivered(channel.receive(message(5, token: 2, sequence: 4, body: [2]), now: now)) == Delivered(requestId: 7, body: [2]))
        guard case .close(let error)? = channel.receive(message(5, token: 1, sequence: 5, body: [3]), now: now) else {
            Issue.record("the old token must be gone")
            return
        }
        #expect(error?.error == .badSecureChannelTokenUnknown)
    }

    @Test func otherPoliciesAreRejected() {
        var channel = SecureChannel(channelId: 5)
        _ = channel.receive(hello(), now: now)
        let actions = channel.receive(open(policy: "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"), now: now)
        guard case .close(let error)? = actions else { Issue.record("expected close"); return }
        #expect(error?.error == .badSecurityPolicyRejected)
    }

    @Test func chunksAreAssembledAndAbortsDiscarded() {
        var channel = opened()
        #expect(channel.receive(message(5, sequence: 2, type: .intermediate, body: [1, 2]), now: now) == nil)
        #expect(delivered(channel.receive(message(5, sequence: 3, type: .final, body: [3]), now: now))
                == Delivered(requestId: 7, body: [1, 2, 3]))
        #expect(channel.receive(message(5, sequence: 4, type: .intermediate, body: [9]), now: now) == nil)
        #expect(channel.receive(message(5, sequence: 5, type: .abort, body: []), now: now) == nil)
        #expect(delivered(channel.receive(message(5, sequence: 6, body: [4]), now: now)) == Delivered(requestId: 7, body: [4]))
    }

    @Test func sequenceGapsAndForeignChannelsClose() {
        var channel = opened()
        guard case .close(let gap)? = channel.receive(message(5, sequence: 9, body: []), now: now) else {
            Issue.record("expected close")
            return
        }
        #expect(gap?.error == .badSequenceNumberInvalid)
        var other = opened()
        guard case .close(let foreign)? = other.receive(message(6, sequence: 2, body: []), now: now) else {
            Issue.record("expected close")
            return
        }
        #expect(foreign?.error == .badSecureChannelIdInvalid)
    }

    @Test func messagesBeforeOpenAndExpiredTokensClose() {
        var channel = SecureChannel(channelId: 5)
        _ = channel.receive(hello(), now: now)
        guard case .close(let early)? = channel.receive(message(5, sequence: 1, body: []), now: now) else {
            Issue.record("expected close")
            return
        }
        #expect(early?.error == .badTcpMessageTypeInvalid)
        var expired = opened()
        let later = UADateTime(ticks: now.ticks + 76 * 1000 * 10_000)  // 76 s > 125 % of 60 s
        guard case .close(let old)? = expired.receive(message(5, sequence: 2, body: []), now: later) else {
            Issue.record("expected close")
            return
        }
        #expect(old?.error == .badSecureChannelTokenUnknown)
    }

    @Test func responsesAreChunkedToTheClientsBuffer() {
        var channel = SecureChannel(channelId: 5)
        _ = channel.receive(hello(buffer: 8192), now: now)
        _ = channel.receive(open(), now: now)
        let body = [UInt8](repeating: 7, count: 20_000)
        let chunks = channel.responseChunks(requestId: 9, body: body) ?? []
        #expect(chunks.count == 3)
        #expect(chunks.map(\.chunkType) == [.intermediate, .intermediate, .final])
        #expect(chunks.allSatisfy { $0.bytes.count <= 8192 })
        #expect(chunks.reduce(0) { $0 + $1.body.count - 16 } == 20_000)
    }

    /// The one-chunk answer written straight into a ByteBuffer is the chunk `responseChunks` makes.
    @Test func oneChunkResponsesAreWrittenAsTheirChunk() {
        var direct = SecureChannel(channelId: 5)
        var chunked = SecureChannel(channelId: 5)
        _ = direct.receive(hello(buffer: 8192), now: now)
        _ = direct.receive(open(), now: now)
        _ = chunked.receive(hello(buffer: 8192), now: now)
        _ = chunked.receive(open(), now: now)
        for size in [0, 1, 8192 - 24] {
            let body = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
            var buffer = ByteBufferAllocator().buffer(capacity: 0)
            #expect(direct.writeResponse(requestId: 9, body: body, into: &buffer))
            let chunks = chunked.responseChunks(requestId: 9, body: body) ?? []
            #expect(chunks.count == 1 && buffer.readableBytesView.elementsEqual(chunks[0].bytes), "\(size) bytes")
        }
        // Past the client's buffer: several chunks, written by `responseChunks`.
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        #expect(!direct.writeResponse(requestId: 9, body: [UInt8](repeating: 1, count: 8192 - 23), into: &buffer))
        #expect(buffer.readableBytes == 0)
    }
}
