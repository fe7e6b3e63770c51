/// A value with its status and timestamps (Part 4 §7.11, Part 6 §5.2.2.17).
/// Absent fields are nil and take no bytes.
public struct DataValue: Hashable, Sendable {
    public var value: Variant?
    public var status: StatusCode?
    public var sourceTimestamp: UADateTime?
    public var serverTimestamp: UADateTime?
    public var sourcePicoseconds: UInt16?
    public var serverPicoseconds: UInt16?

    public init(value: Variant? = nil, status: StatusCode? = nil, sourceTimestamp: UADateTime? = nil,
                serverTimestamp: UADateTime? = nil, sourcePicoseconds: UInt16? = nil, serverPicoseconds: UInt16? = nil) {
        self.value = value
        self.status = status
        self.sourceTimestamp = sourceTimestamp
        self.serverTimestamp = serverTimestamp
        self.sourcePicoseconds = sourcePicoseconds
        self.serverPicoseconds = serverPicoseconds
    }

    /// A DataValue carrying only a (bad) status.
    public init(status: StatusCode) {
        self.init(value: nil, status: status)
    }
}

extension DataValue: UACodable {
    public init(from reader: inout UAReader) throws(UADecodingError) {
        try reader.enter()
        defer { reader.leave() }
        let mask = try reader.readByte()
        value = mask & 0x01 != 0 ? try Variant(from: &reader) : nil
        status = mask & 0x02 != 0 ? try StatusCode(from: &reader) : nil
        sourceTimestamp = mask & 0x04 != 0 ? try UADateTime(from: &reader) : nil
        sourcePicoseconds = mask & 0x10 != 0 ? try reader.readUInt16() : nil
        serverTimestamp = mask & 0x08 != 0 ? try UADateTime(from: &reader) : nil
        serverPicoseconds = mask & 0x20 != 0 ? try reader.readUInt16() : nil
    }

    public func encode(to writer: inout UAWriter) {
        var mask: UInt8 = 0
        if value != nil { mask |= 0x01 }
        if status != nil && status != StatusCode(rawValue: 0) { mask |= 0x02 }
        if sourceTimestamp != nil { mask |= 0x04 }
        if serverTimestamp != nil { mask |= 0x08 }
        if sourcePicoseconds != nil { mask |= 0x10 }
        if serverPicoseconds != nil { mask |= 0x20 }
        writer.writeByte(mask)
        if let value { value.encode(to: &writer) }
        if mask & 0x02 != 0, let status { status.encode(to: &writer) }
        if let sourceTimestamp { sourceTimestamp.encode(to: &writer) }
        if let sourcePicoseconds { writer.writeUInt16(sourcePicoseconds) }
        if let serverTimestamp { serverTimestamp.encode(to: &writer) }
        if let serverPicoseconds { writer.writeUInt16(serverPicoseconds) }
    }
}
