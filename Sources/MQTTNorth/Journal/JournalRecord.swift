import RailgateCore

/// One journaled change: which tag (by path, so a journal outlives a
/// reordered configuration), its value, quality, source timestamp and text.
public struct JournalRecord: Sendable, Equatable {
    public var path: String
    public var timestamp: Int64
    public var value: SampleValue
    public var quality: Quality
    public var text: String?

    public init(path: String, timestamp: Int64, value: SampleValue, quality: Quality, text: String?) {
        self.path = path
        self.timestamp = timestamp
        self.value = value
        self.quality = quality
        self.text = text
    }

    /// The record of a change of a gateway tag, with its text.
    init(_ change: Change, table: TagTable) {
        let sample = change.sample
        self.init(path: table.tags[Int(sample.tag)].path, timestamp: sample.timestamp, value: sample.value,
                  quality: sample.quality, text: change.text)
    }

    /// The change again, for the tag at the record's path in `table`; nil when the running
    /// configuration has no such tag any more.
    func change(in table: TagTable) -> Change? {
        guard let index = table.index(ofPath: path) else { return nil }
        return Change(Sample(tag: UInt32(index), quality: quality, timestamp: timestamp, value: value), text: text)
    }

    /// Body layout (little endian): timestamp i64, value u64, reason u8,
    /// detail u8, path length u16 + UTF-8, text flag u8 (+ length u16 + UTF-8).
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24 + path.utf8.count + (text?.utf8.count ?? 0))
        func put<T: FixedWidthInteger>(_ v: T) { LittleEndian.append(v, to: &bytes) }
        put(timestamp)
        put(value.bits)
        bytes.append(quality.reason.rawValue)
        bytes.append(quality.detail)
        let pathBytes = Array(path.utf8.prefix(Int(UInt16.max)))
        put(UInt16(pathBytes.count))
        bytes += pathBytes
        if let text {
            let textBytes = Array(text.utf8.prefix(Int(UInt16.max)))
            bytes.append(1)
            put(UInt16(textBytes.count))
            bytes += textBytes
        } else {
            bytes.append(0)
        }
        return bytes
    }

    init?(decoding bytes: ArraySlice<UInt8>) {
        var at = bytes.startIndex
        func take<T: FixedWidthInteger>(_: T.Type) -> T? {
            let size = MemoryLayout<T>.size
            guard bytes.endIndex - at >= size else { return nil }
            defer { at += size }
            return LittleEndian.read(T.self, bytes, at: at)
        }
        guard let timestamp = take(Int64.self), let bits = take(UInt64.self), let reason = take(UInt8.self),
              let detail = take(UInt8.self), let pathLength = take(UInt16.self),
              bytes.endIndex - at >= Int(pathLength),
              let badReason = BadReason(rawValue: reason) else { return nil }
        path = String(decoding: bytes[at..<at + Int(pathLength)], as: UTF8.self)
        at += Int(pathLength)
        guard let hasText = take(UInt8.self) else { return nil }
        if hasText == 1 {
            guard let length = take(UInt16.self), bytes.endIndex - at >= Int(length) else { return nil }
            text = String(decoding: bytes[at..<at + Int(length)], as: UTF8.self)
        } else {
            text = nil
        }
        self.timestamp = timestamp
        value = SampleValue(bits: bits)
        quality = Quality(reason: badReason, detail: detail)
    }
}
