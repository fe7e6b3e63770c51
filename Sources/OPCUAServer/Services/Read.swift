// Read (Part 4 §5.10.2), decoded and answered in place.
//
// A Read of tag values is the request a SCADA system sends most, often for a thousand tags at a
// time, so it takes a path of its own: each ReadValueId naming a tag's Value is resolved from the
// request's bytes (TagNodeIndex: no String, one hash), and its DataValue is written from the
// TagTable's state straight into a response buffer the server reuses — one table lock per run of
// tags, no Variant or DataValue values, nothing allocated once the buffers have grown. Every other
// item (attributes other than Value, other nodes, an index range, a data encoding) is decoded as
// a ReadValueId and answered by `read(_:timestamps:)`, as before. Both give the same bytes.

import RailgateCore

/// Read's buffers, kept from one request to the next (the server's event loop owns them).
struct ReadScratch {
    /// Per requested item in order: a tag index (≥ 0), or −(k + 1) for `others[k]`.
    var entries: [Int32] = []
    /// The items the general path answers.
    var others: [ReadValueId] = []
    var writer = UAWriter(capacity: 4096)
}

extension UAServerCore {
    func registerRead() {
        setService(UAIds.Encoding.readRequest) { reader, context, reply in
            try self.serveRead(&reader, context, reply)
        }
    }

    private func serveRead(_ reader: inout UAReader, _ context: ServiceContext, _ reply: UAReply) throws {
        var scratch = readScratch
        readScratch = ReadScratch()
        defer {
            scratch.entries.removeAll(keepingCapacity: true)
            scratch.others.removeAll(keepingCapacity: true)  // their NodeIds' strings go now
            readScratch = scratch
        }

        // Decode everything first: a malformed request is refused as a whole (BadDecodingError).
        reader.seek(to: context.fieldsOffset)  // the header: decoded by `handle` already
        let maxAge = try reader.readDouble()
        let timestamps = try TimestampsToReturn(from: &reader)
        let count = try reader.readArrayCount()
        let index = addressSpace.tagIndex
        for _ in 0..<count {
            let start = reader.offset
            if let tag = try Self.tagValueItem(&reader, index) {
                scratch.entries.append(Int32(tag))
            } else {
                reader.seek(to: start)
                scratch.others.append(try ReadValueId(from: &reader))
                scratch.entries.append(-Int32(scratch.others.count))
            }
        }

        _ = try context.requireSession()
        try checkOperationCount(count)
        guard maxAge >= 0 else { throw ServiceError(.badMaxAgeInvalid) }
        guard (0...3).contains(timestamps.rawValue) else { throw ServiceError(.badTimestampsToReturnInvalid) }

        scratch.writer.reset()
        UAIds.Encoding.readResponse.encode(to: &scratch.writer)
        context.responseHeader().encode(to: &scratch.writer)
        scratch.writer.writeInt32(Int32(count))
        var encoder = TagValueEncoder(types: index.types, timestamps: timestamps)
        var i = 0
        while i < count {
            let entry = scratch.entries[i]
            guard entry >= 0, let table = addressSpace.table else {
                read(scratch.others[Int(-entry) - 1], timestamps: timestamps).encode(to: &scratch.writer)
                i += 1
                continue
            }
            // A run of tags: one lock for all of them.
            var end = i + 1
            while end < count && scratch.entries[end] >= 0 { end += 1 }
            table.withStates { states in
                for k in i..<end { encoder.encode(Int(scratch.entries[k]), states, to: &scratch.writer) }
            }
            i = end
        }
        scratch.writer.writeInt32(0)  // diagnosticInfos
        reply(UAResponse(encoded: scratch.writer.bytes))
    }

    /// Decodes one ReadValueId if it is the plain Read of a tag's Value — a string NodeId the
    /// index knows, the Value attribute, no index range, the default data encoding — and gives
    /// the tag. Nil for anything else (the caller decodes the item again the general way).
    private static func tagValueItem(_ reader: inout UAReader, _ index: TagNodeIndex) throws(UADecodingError) -> Int? {
        guard try reader.readByte() == 0x03 else { return nil }  // string NodeId, no flags
        let namespace = try reader.readUInt16()
        guard let length = try reader.readLength(),
              let tag = try reader.withBytes(length, { index.tag(namespace: namespace, identifier: $0) }),
              try reader.readUInt32() == AttributeId.value,
              try reader.readInt32() == -1 else { return nil }  // indexRange: null
        _ = try reader.readUInt16()  // dataEncoding: any namespace with a null name is the default
        guard try reader.readInt32() == -1 else { return nil }
        return tag
    }
}

/// Writes a tag's DataValue from its state as `TagValue.dataValue` followed by
/// `UAServerCore.filterTimestamps` would make it, byte for byte.
struct TagValueEncoder {
    let types: [BuiltinType]
    let timestamps: TimestampsToReturn
    /// The server timestamp of values without one of their own: read once per request.
    private var now: Int64?

    init(types: [BuiltinType], timestamps: TimestampsToReturn) {
        self.types = types
        self.timestamps = timestamps
    }

    mutating func encode(_ tag: Int, _ states: borrowing TagTable.StatesView, to writer: inout UAWriter) {
        let state = states[tag]
        let quality = state.sample.quality
        let hasValue = quality.reason != .waitingForInitialData && quality.reason != .config
        let status = TagValue.status(quality)
        let withSource = (timestamps == .source || timestamps == .both) && state.sample.timestamp != 0
        let withServer = timestamps == .server || timestamps == .both
        var mask: UInt8 = 0
        if hasValue { mask |= 0x01 }
        if status.rawValue != 0 { mask |= 0x02 }
        if withSource { mask |= 0x04 }
        if withServer { mask |= 0x08 }
        writer.writeByte(mask)
        if hasValue {
            let type = types[tag]
            let value = state.sample.value
            writer.writeByte(type.rawValue)
            switch type {
            case .boolean: writer.writeBoolean(value.bool)
            case .sByte: writer.writeSByte(Int8(truncatingIfNeeded: value.int))
            case .byte: writer.writeByte(UInt8(truncatingIfNeeded: value.uint))
            case .int16: writer.writeInt16(Int16(truncatingIfNeeded: value.int))
            case .uInt16: writer.writeUInt16(UInt16(truncatingIfNeeded: value.uint))
            case .int32: writer.writeInt32(Int32(truncatingIfNeeded: value.int))
            case .uInt32: writer.writeUInt32(UInt32(truncatingIfNeeded: value.uint))
            case .int64: writer.writeInt64(value.int)
            case .uInt64: writer.writeUInt64(value.uint)
            case .float: writer.writeFloat(Float(value.double))
            case .string: states.text(tag) { writer.writeString(utf8: $0) }
            default: writer.writeDouble(value.double)
            }
        }
        if status.rawValue != 0 { writer.writeUInt32(status.rawValue) }
        if withSource { UADateTime(unixNanoseconds: state.sample.timestamp).encode(to: &writer) }
        if withServer {
            if state.gatewayTimestamp != 0 {
                UADateTime(unixNanoseconds: state.gatewayTimestamp).encode(to: &writer)
            } else {
                if now == nil { now = RailgateClock.now() }
                UADateTime(unixNanoseconds: now ?? 0).encode(to: &writer)
            }
        }
    }
}
