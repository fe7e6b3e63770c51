import NIOCore

/// Frames the TCP byte stream into `UAChunk`s (Part 6 §7.1.2.2).
///
/// Rejects, with `UATransportError`, a header whose message type is unknown,
/// whose size is below the header size, or whose size exceeds the
/// negotiated receive buffer — before reading the body, so an oversize
/// announcement never makes the server buffer it.
public struct UAChunkDecoder: ByteToMessageDecoder {
    public typealias InboundOut = UAChunk

    /// Largest chunk accepted; lowered to the negotiated size after Hello.
    public var maxChunkSize: Int
    /// A chunk begun must be complete this long after its first byte: a peer sending one byte
    /// a second would otherwise hold its connection and buffer for ever.
    public var chunkTimeout: TimeAmount
    private var chunkTimer: Scheduled<Void>?

    public init(maxChunkSize: Int, chunkTimeout: TimeAmount = .seconds(10)) {
        self.maxChunkSize = maxChunkSize
        self.chunkTimeout = chunkTimeout
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let state = try decodeChunk(context: context, buffer: &buffer)
        if state == .needMoreData && buffer.readableBytes > 0 {
            if chunkTimer == nil {
                let seconds = chunkTimeout.nanoseconds / 1_000_000_000
                chunkTimer = context.eventLoop.scheduleTask(in: chunkTimeout) {
                    guard context.channel.isActive else { return }
                    context.fireErrorCaught(UATransportError(.badTimeout, "chunk not completed within \(seconds) s"))
                }
            }
        } else {
            // A whole chunk arrived (or nothing is pending): the next one gets its own time.
            chunkTimer?.cancel()
            chunkTimer = nil
        }
        return state
    }

    public mutating func decoderRemoved(context: ChannelHandlerContext) {
        chunkTimer?.cancel()
        chunkTimer = nil
    }

    private mutating func decodeChunk(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= 8,
              let word = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self),
              let size32 = buffer.getInteger(at: buffer.readerIndex + 4, endianness: .little, as: UInt32.self) else {
            return .needMoreData
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
        guard buffer.readableBytes >= size else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 8)
        let body = buffer.readBytes(length: size - 8) ?? []
        context.fireChannelRead(wrapInboundOut(UAChunk(type, chunkType, body: body)))
        return .continue
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
