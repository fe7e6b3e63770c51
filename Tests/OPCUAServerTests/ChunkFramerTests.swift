import NIOCore
import Testing
@testable import OPCUAServer

/// The framer: exact bytes in, chunks out.
struct ChunkFramerTests {
    /// Feeds `pieces` one after the other and gives the chunks they completed.
    func frame(_ pieces: [[UInt8]], max: Int = 65535) throws(UATransportError) -> (chunks: [UAChunk], pending: Int) {
        var framer = UAChunkFramer(maxChunkSize: max)
        var chunks: [UAChunk] = []
        for piece in pieces {
            var buffer = ByteBufferAllocator().buffer(bytes: piece)
            _ = try framer.receive(&buffer) { type, chunkType, body in
                chunks.append(UAChunk(type, chunkType, body: Array(body)))
                return true
            }
            #expect(buffer.readableBytes == 0, "the framer takes every byte it is given")
        }
        return (chunks, framer.pendingBytes)
    }

    @Test func splitsAStreamIntoChunks() throws {
        let a = UAChunk(.hello, body: [1, 2, 3]).bytes
        let b = UAChunk(.message, .intermediate, body: [4]).bytes
        let expected = [UAChunk(.hello, body: [1, 2, 3]), UAChunk(.message, .intermediate, body: [4])]
        // Byte by byte: partial headers and bodies wait for more.
        #expect(try frame((a + b).map { [$0] }) == (expected, 0))
        // Both in one read, and one and a half then the rest.
        #expect(try frame([a + b]) == (expected, 0))
        #expect(try frame([a + b.prefix(5), Array(b.dropFirst(5))]) == (expected, 0))
        // A part left over waits, counted.
        #expect(try frame([a + b.prefix(5)]) == ([expected[0]], 5))
    }

    @Test func stopsWhenTheConnectionCloses() throws {
        var framer = UAChunkFramer(maxChunkSize: 65535)
        var buffer = ByteBufferAllocator().buffer(bytes: UAChunk(.hello, body: [1]).bytes + UAChunk(.close, body: [2]).bytes)
        var seen = 0
        #expect(try framer.receive(&buffer) { _, _, _ in seen += 1; return false })
        #expect(seen == 1)
    }

    @Test func everyMessageTypeIsReadFromItsLetters() throws {
        let types: [UAMessageType] = [.hello, .acknowledge, .error, .reverseHello, .open, .close, .message]
        for type in types {
            #expect(try frame([UAChunk(type, .final, body: [9]).bytes]).chunks == [UAChunk(type, .final, body: [9])])
        }
        for letters in ["MSH", "msg", "HEX", "\0\0\0"] {
            #expect(throws: UATransportError.self, "\(letters)") {
                try frame([Array(letters.utf8) + [0x46, 9, 0, 0, 0, 1]])
            }
        }
    }

    @Test func oversizeAnnouncementIsRejectedFromTheHeader() throws {
        // Only the 8 header bytes have come: refused before any body is kept.
        #expect(throws: UATransportError(.badTcpMessageTooLarge, "chunk of 8193 bytes exceeds the 8192-byte buffer")) {
            try frame([Array("MSGF".utf8) + [0x01, 0x20, 0, 0]], max: 8192)
        }
    }

    @Test func unknownTypesAndTinySizesAreRejected() throws {
        #expect(throws: UATransportError.self) { try frame([Array("FOOF".utf8) + [8, 0, 0, 0]]) }
        #expect(throws: UATransportError.self) { try frame([Array("MSGX".utf8) + [8, 0, 0, 0]]) }
        #expect(throws: UATransportError.self) { try frame([Array("MSGF".utf8) + [4, 0, 0, 0]]) }
    }
}
