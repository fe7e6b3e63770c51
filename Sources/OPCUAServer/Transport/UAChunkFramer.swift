import NIOCore

/// Frames the TCP byte stream into chunks (Part 6 §7.1.2.2), the bytes of a chunk received in
/// part kept until the rest comes.
///
/// Rejects, with `UATransportError`, a header whose message type is unknown, whose size is below
/// the header size, or whose size exceeds `maxChunkSize` — as soon as the 8 header bytes are
/// there, before the body, so an oversize announcement never makes the server buffer it.
public struct UAChunkFramer {
    /// Largest chunk accepted (the server's receive buffer).
    public let maxChunkSize: Int
    /// The bytes of a chunk received in part, in a buffer of the framer's own (never the
    /// socket's read buffer, which the event loop reuses).
    private var pending: ByteBuffer?

    public init(maxChunkSize: Int) {
        self.maxChunkSize = maxChunkSize
    }

    /// Bytes of a chunk received in part, waiting for the rest.
    public var pendingBytes: Int { pending?.readableBytes ?? 0 }

    /// Takes received bytes and calls `chunk` for each chunk they complete, in order, with its
    /// types and body (lent for the call); `chunk` gives false to stop (the connection closes).
    /// Gives whether a chunk was completed.
    public mutating func receive(
        _ input: inout ByteBuffer,
        _ chunk: (UAMessageType, UAChunk.ChunkType, UnsafeRawBufferPointer) -> Bool
    ) throws(UATransportError) -> Bool {
        guard var buffer = pending else {
            let completed = try take(&input, chunk)
            if input.readableBytes > 0 {
                var kept = ByteBufferAllocator().buffer(capacity: input.readableBytes)
                kept.writeBuffer(&input)
                pending = kept
            }
            return completed
        }
        pending = nil  // the buffer stays uniquely referenced as it grows
        buffer.writeBuffer(&input)
        let completed = try take(&buffer, chunk)
        if buffer.readableBytes > 0 {
            if completed { buffer.discardReadBytes() }
            pending = buffer
        }
        return completed
    }

    private func take(
        _ buffer: inout ByteBuffer,
        _ chunk: (UAMessageType, UAChunk.ChunkType, UnsafeRawBufferPointer) -> Bool
    ) throws(UATransportError) -> Bool {
        var completed = false
        while let (type, chunkType, size) = try header(of: buffer), buffer.readableBytes >= size {
            let more = buffer.withUnsafeReadableBytes { chunk(type, chunkType, UnsafeRawBufferPointer(rebasing: $0[8..<size])) }
            buffer.moveReaderIndex(forwardBy: size)
            completed = true
            if !more { break }
        }
        return completed
    }

    /// The message type, chunk type and size of the chunk whose header begins `buffer`'s
    /// readable bytes; nil until all 8 header bytes are there.
    private func header(of buffer: ByteBuffer) throws(UATransportError) -> (UAMessageType, UAChunk.ChunkType, Int)? {
        guard let word = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self),
              let size32 = buffer.getInteger(at: buffer.readerIndex + 4, endianness: .little, as: UInt32.self) else {
            return nil
        }
        let letters = (UInt8(truncatingIfNeeded: word), UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word >> 16))
        guard let type = UAMessageType(letters) else {
            throw UATransportError(.badTcpMessageTypeInvalid, "unknown message type \([letters.0, letters.1, letters.2].map { String($0, radix: 16) }.joined(separator: " "))")
        }
        let chunkByte = UInt8(truncatingIfNeeded: word >> 24)
        guard let chunkType = UAChunk.ChunkType(rawValue: chunkByte) else {
            throw UATransportError(.badTcpMessageTypeInvalid, "unknown chunk type 0x\(String(chunkByte, radix: 16))")
        }
        let size = Int(size32)
        guard size >= 8 else { throw UATransportError(.badTcpInternalError, "chunk size \(size) below the header size") }
        guard size <= maxChunkSize else {
            throw UATransportError(.badTcpMessageTooLarge, "chunk of \(size) bytes exceeds the \(maxChunkSize)-byte buffer")
        }
        return (type, chunkType, size)
    }
}

/// A fault that ends the connection with an Error message.
public struct UATransportError: Error, Equatable, CustomStringConvertible {
    public var status: StatusCode
    public var reason: String

    public init(_ status: StatusCode, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status): \(reason)" }
}
