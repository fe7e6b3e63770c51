import NIOCore
import NIOEmbedded
import Testing
@testable import OPCUAServer

/// The framing decoder on an EmbeddedChannel: exact bytes in, chunks out.
struct ChunkDecoderTests {
    func channel(max: Int = 65535) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(UAChunkDecoder(maxChunkSize: max)))
        return channel
    }

    @Test func splitsAStreamIntoChunks() throws {
        let channel = try channel()
        let a = UAChunk(.hello, body: [1, 2, 3]).bytes
        let b = UAChunk(.message, .intermediate, body: [4]).bytes
        let stream = a + b
        // Deliver byte by byte: partial headers and bodies wait for more.
        for byte in stream { try channel.writeInbound(channel.allocator.buffer(bytes: [byte])) }
        #expect(try channel.readInbound(as: UAChunk.self) == UAChunk(.hello, body: [1, 2, 3]))
        #expect(try channel.readInbound(as: UAChunk.self) == UAChunk(.message, .intermediate, body: [4]))
    }

    @Test func everyMessageTypeIsReadFromItsLetters() throws {
        let types: [UAMessageType] = [.hello, .acknowledge, .error, .reverseHello, .open, .close, .message]
        for type in types {
            let channel = try channel()
            try channel.writeInbound(UAChunk(type, .final, body: [9]).bytes.withUnsafeBufferPointer {
                channel.allocator.buffer(bytes: $0)
            })
            #expect(try channel.readInbound(as: UAChunk.self) == UAChunk(type, .final, body: [9]))
        }
        for letters in ["MSH", "msg", "HEX", "\0\0\0"] {
            let channel = try channel()
            #expect(throws: UATransportError.self, "\(letters)") {
                try channel.writeInbound(channel.allocator.buffer(bytes: Array(letters.utf8) + [0x46, 9, 0, 0, 0, 1]))
            }
        }
    }

    @Test func oversizeAnnouncementIsRejectedFromTheHeader() throws {
        let channel = try channel(max: 8192)
        #expect(throws: UATransportError.self) {
            try channel.writeInbound(channel.allocator.buffer(bytes: Array("MSGF".utf8) + [0x01, 0x20, 0, 0]))
        }
    }

    @Test func unknownTypesAndTinySizesAreRejected() throws {
        #expect(throws: UATransportError.self) {
            let channel = try channel()
            try channel.writeInbound(channel.allocator.buffer(bytes: Array("FOOF".utf8) + [8, 0, 0, 0]))
        }
        #expect(throws: UATransportError.self) {
            let channel = try channel()
            try channel.writeInbound(channel.allocator.buffer(bytes: Array("MSGX".utf8) + [8, 0, 0, 0]))
        }
        #expect(throws: UATransportError.self) {
            let channel = try channel()
            try channel.writeInbound(channel.allocator.buffer(bytes: Array("MSGF".utf8) + [4, 0, 0, 0]))
        }
    }
}
