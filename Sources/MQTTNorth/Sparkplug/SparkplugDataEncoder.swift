import RailgateCore

/// Writes DDATA payloads (sparkplug_b.proto `Payload` with data metrics) straight into a byte
/// buffer the publishing thread keeps: the same bytes SwiftProtobuf makes of the metrics
/// `SparkplugMetrics.metric(…, birth: false)` builds (fields in number order, proto2 fields
/// present exactly when set there), without a message value per metric. Births, deaths and
/// commands keep the generated code; changes are what goes out all day.
struct SparkplugDataEncoder {
    private(set) var bytes: [UInt8] = []

    /// Starts a payload: its timestamp (ms) and seq; metrics follow.
    mutating func begin(timestamp: UInt64, seq: UInt64) {
        bytes.removeAll(keepingCapacity: true)
        key(1, wire: 0)
        varint(timestamp)
        // `seq` is field 3, after the metrics (field 2): remembered and written by `end`.
        pendingSeq = seq
    }

    private var pendingSeq: UInt64 = 0

    mutating func end() {
        key(3, wire: 0)
        varint(pendingSeq)
    }

    /// One data metric of tag `index`.
    mutating func metric(_ tag: Tag, index: Int, sample: Sample, text: String?, historical: Bool = false) {
        let start = beginMessage(2)
        key(2, wire: 0)
        varint(SparkplugMetrics.alias(index))
        if sample.timestamp > 0 {
            key(3, wire: 0)
            varint(UInt64(sample.timestamp / 1_000_000))
        }
        if historical {
            key(5, wire: 0)
            bytes.append(1)
        }
        let hasValue = sample.quality.hasValue
        if !hasValue {
            key(7, wire: 0)
            bytes.append(1)
        }
        let code = hasValue ? tag.codes.map { $0.code(of: sample.value, kind: tag.kind) ?? "" } : nil
        let quality: UInt32? = sample.quality.isGood ? nil : (sample.quality.isUncertain ? 64 : 0)
        if code != nil || quality != nil {
            let set = beginMessage(9)
            if code != nil { string(1, "code") }
            if quality != nil { string(1, "Quality") }
            if let code {
                let value = beginMessage(2)
                key(1, wire: 0)
                varint(UInt64(SparkplugType.string))
                string(8, code)
                endMessage(value)
            }
            if let quality {
                let value = beginMessage(2)
                key(1, wire: 0)
                varint(UInt64(SparkplugType.int32))
                key(3, wire: 0)
                varint(UInt64(quality))
                endMessage(value)
            }
            endMessage(set)
        }
        if hasValue { value(tag, sample.value, text: text) }
        endMessage(start)
    }

    /// Sparkplug B 3.0 §6.4.16, as `SparkplugMetrics.set`.
    private mutating func value(_ tag: Tag, _ value: SampleValue, text: String?) {
        if !tag.scaling.isIdentity { return double(13, value.double) }
        switch tag.dataType {
        case .bool:
            key(14, wire: 0)
            bytes.append(value.bool ? 1 : 0)
        case .int8, .int16, .int32:
            key(10, wire: 0)
            varint(UInt64(UInt32(bitPattern: Int32(truncatingIfNeeded: value.int))))
        case .uint8, .uint16, .uint32:
            key(10, wire: 0)
            varint(UInt64(UInt32(truncatingIfNeeded: value.uint)))
        case .int64:
            key(11, wire: 0)
            varint(UInt64(bitPattern: value.int))
        case .uint64:
            key(11, wire: 0)
            varint(value.uint)
        case .float32:
            key(12, wire: 5)
            withUnsafeBytes(of: Float(value.double).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        case .float64: double(13, value.double)
        case .string: string(15, text ?? "")
        }
    }

    // MARK: Protocol Buffers wire format

    private mutating func key(_ field: UInt64, wire: UInt64) { varint(field << 3 | wire) }

    private mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private mutating func double(_ field: UInt64, _ value: Double) {
        key(field, wire: 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func string(_ field: UInt64, _ value: String) {
        key(field, wire: 2)
        varint(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    /// A length-delimited field whose length is known only at its end: one byte is kept for
    /// it, and `endMessage` widens it when the content needs a longer varint.
    private mutating func beginMessage(_ field: UInt64) -> Int {
        key(field, wire: 2)
        bytes.append(0)
        return bytes.count
    }

    private mutating func endMessage(_ start: Int) {
        let length = bytes.count - start
        if length < 0x80 {
            bytes[start - 1] = UInt8(length)
            return
        }
        var wide: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &wide) { buffer in
            var value = UInt64(length)
            var count = 0
            while value >= 0x80 {
                buffer[count] = UInt8(truncatingIfNeeded: value) | 0x80
                value >>= 7
                count += 1
            }
            buffer[count] = UInt8(value)
            count += 1
            bytes[start - 1] = buffer[0]
            bytes.insert(contentsOf: buffer[1..<count], at: start)
        }
    }
}

/// A turn's changes grouped by device (a counting sort into arrays kept from turn to turn):
/// no array per device and turn.
struct DeviceGrouping {
    /// Positions of changes, device by device.
    private var order: [Int32] = []
    /// Device d's changes are `order[starts[d]..<starts[d + 1]]`.
    private var starts: [Int] = []
    private var next: [Int] = []

    mutating func group(_ changes: [Change], deviceOfTag: [Int], deviceCount: Int) {
        starts.removeAll(keepingCapacity: true)
        starts.append(contentsOf: repeatElement(0, count: deviceCount + 1))
        for change in changes where Int(change.sample.tag) < deviceOfTag.count {
            starts[deviceOfTag[Int(change.sample.tag)] + 1] += 1
        }
        for device in 0..<deviceCount { starts[device + 1] += starts[device] }
        next.removeAll(keepingCapacity: true)
        next.append(contentsOf: starts)
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: repeatElement(0, count: starts[deviceCount]))
        for (position, change) in changes.enumerated() where Int(change.sample.tag) < deviceOfTag.count {
            let device = deviceOfTag[Int(change.sample.tag)]
            order[next[device]] = Int32(truncatingIfNeeded: position)
            next[device] += 1
        }
    }

    func has(_ device: Int) -> Bool { starts[device + 1] > starts[device] }
    func count(_ device: Int) -> Int { starts[device + 1] - starts[device] }
    func changes(of device: Int) -> ArraySlice<Int32> { order[starts[device]..<starts[device + 1]] }
}
