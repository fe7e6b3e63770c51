/// The message types of UA-TCP and UA Secure Conversation (Part 6 §7.1.2, §6.7.2).
public enum UAMessageType: String, Sendable {
    case hello = "HEL", acknowledge = "ACK", error = "ERR", reverseHello = "RHE"
    case open = "OPN", close = "CLO", message = "MSG"
}

extension UAMessageType {
    /// The type its three ASCII letters on the wire name, or nil.
    init?(_ letters: (UInt8, UInt8, UInt8)) {
        switch letters {
        case (0x4D, 0x53, 0x47): self = .message  // MSG: checked first, nearly every chunk is one
        case (0x48, 0x45, 0x4C): self = .hello
        case (0x41, 0x43, 0x4B): self = .acknowledge
        case (0x45, 0x52, 0x52): self = .error
        case (0x52, 0x48, 0x45): self = .reverseHello
        case (0x4F, 0x50, 0x4E): self = .open
        case (0x43, 0x4C, 0x4F): self = .close
        default: return nil
        }
    }
}

/// One frame on the wire: 8-byte header and body (Part 6 §7.1.2.2).
public struct UAChunk: Sendable, Equatable {
    /// 'F' final, 'C' intermediate, 'A' abort.
    public enum ChunkType: UInt8, Sendable {
        case final = 0x46, intermediate = 0x43, abort = 0x41
    }

    public var messageType: UAMessageType
    public var chunkType: ChunkType
    /// Everything after the 8-byte header.
    public var body: [UInt8]

    public init(_ messageType: UAMessageType, _ chunkType: ChunkType = .final, body: [UInt8]) {
        self.messageType = messageType
        self.chunkType = chunkType
        self.body = body
    }

    /// Header + body as sent.
    /// The 8-byte message header of a chunk of `size` bytes in all.
    static func header(_ type: UAMessageType, _ chunkType: ChunkType, size: Int) -> [UInt8] {
        var writer = UAWriter(capacity: 8)
        writer.writeBytes(type.rawValue.utf8)
        writer.writeByte(chunkType.rawValue)
        writer.writeUInt32(UInt32(size))
        return writer.bytes
    }

    /// This chunk's message header, as it came on the wire.
    var header: [UInt8] { Self.header(messageType, chunkType, size: body.count + 8) }

    public var bytes: [UInt8] {
        var writer = UAWriter(capacity: body.count + 8)
        writer.writeBytes(messageType.rawValue.utf8)
        writer.writeByte(chunkType.rawValue)
        writer.writeUInt32(UInt32(body.count + 8))
        writer.writeBytes(body)
        return writer.bytes
    }
}

/// Hello from the client (Part 6 §7.1.2.3).
public struct UAHello: Sendable, Equatable, UACodable {
    public var protocolVersion: UInt32
    public var receiveBufferSize: UInt32
    public var sendBufferSize: UInt32
    public var maxMessageSize: UInt32
    public var maxChunkCount: UInt32
    public var endpointUrl: String?

    public init(protocolVersion: UInt32 = 0, receiveBufferSize: UInt32, sendBufferSize: UInt32,
                maxMessageSize: UInt32, maxChunkCount: UInt32, endpointUrl: String?) {
        self.protocolVersion = protocolVersion
        self.receiveBufferSize = receiveBufferSize
        self.sendBufferSize = sendBufferSize
        self.maxMessageSize = maxMessageSize
        self.maxChunkCount = maxChunkCount
        self.endpointUrl = endpointUrl
    }

    public init(from r: inout UAReader) throws(UADecodingError) {
        protocolVersion = try r.readUInt32()
        receiveBufferSize = try r.readUInt32()
        sendBufferSize = try r.readUInt32()
        maxMessageSize = try r.readUInt32()
        maxChunkCount = try r.readUInt32()
        endpointUrl = try r.readString()
    }

    public func encode(to w: inout UAWriter) {
        w.writeUInt32(protocolVersion)
        w.writeUInt32(receiveBufferSize)
        w.writeUInt32(sendBufferSize)
        w.writeUInt32(maxMessageSize)
        w.writeUInt32(maxChunkCount)
        w.writeString(endpointUrl)
    }
}

/// Acknowledge from the server: the negotiated limits (Part 6 §7.1.2.4).
public struct UAAcknowledge: Sendable, Equatable, UACodable {
    public var protocolVersion: UInt32
    public var receiveBufferSize: UInt32
    public var sendBufferSize: UInt32
    public var maxMessageSize: UInt32
    public var maxChunkCount: UInt32

    public init(protocolVersion: UInt32, receiveBufferSize: UInt32, sendBufferSize: UInt32,
                maxMessageSize: UInt32, maxChunkCount: UInt32) {
        self.protocolVersion = protocolVersion
        self.receiveBufferSize = receiveBufferSize
        self.sendBufferSize = sendBufferSize
        self.maxMessageSize = maxMessageSize
        self.maxChunkCount = maxChunkCount
    }

    public init(from r: inout UAReader) throws(UADecodingError) {
        protocolVersion = try r.readUInt32()
        receiveBufferSize = try r.readUInt32()
        sendBufferSize = try r.readUInt32()
        maxMessageSize = try r.readUInt32()
        maxChunkCount = try r.readUInt32()
    }

    public func encode(to w: inout UAWriter) {
        w.writeUInt32(protocolVersion)
        w.writeUInt32(receiveBufferSize)
        w.writeUInt32(sendBufferSize)
        w.writeUInt32(maxMessageSize)
        w.writeUInt32(maxChunkCount)
    }
}

/// Error message before closing the connection (Part 6 §7.1.2.5).
public struct UAErrorMessage: Sendable, Equatable, UACodable {
    public var error: StatusCode
    public var reason: String?

    public init(_ error: StatusCode, reason: String?) {
        self.error = error
        self.reason = reason
    }

    public init(from r: inout UAReader) throws(UADecodingError) {
        error = try StatusCode(from: &r)
        reason = try r.readString()
    }

    public func encode(to w: inout UAWriter) {
        error.encode(to: &w)
        w.writeString(reason)
    }
}
