// A tag's history file as a crash, a bad disk or another program may leave it: the store opens
// it, reads it the ways HistoryRead does, appends after it and opens it again.
import Glibc
import Logging
import RailgateConfig
import RailgateCore
@testable import RailgateHistory

/// Input: capacity (1 byte), flags (1 byte: bit 0 bounds, bit 1 no start, bit 2 no end, bit 3 set
/// the header's checksum right, bit 4 set every record's checksum right), start and end (8 bytes
/// each, minutes from a base time), page size (1 byte), then the file's bytes.
final class HistoryHarness: Harness {
    static let name = "history"
    static let base: Int64 = 1_796_000_000_000_000_000
    let tags = [Tag(name: "level", device: "tank", path: "acme/tank/level", dataType: .float64)]
    let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
    required init() {}

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        var reader = InputReader(input)
        let capacity = 2 + Int(reader.byte() % 63)
        let flags = reader.byte()
        func time() -> Int64 {
            let raw = reader.take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return Self.base &+ Int64(truncatingIfNeeded: raw % 1_000_000) &* 60_000_000_000 &- 500 * 60_000_000_000
        }
        let start = time(), end = time()
        let page = 1 + Int(reader.byte() % 32)
        var file = Array(reader.rest())
        if flags & 0x08 != 0, file.count >= 28 {
            let crc = CRC32.checksum(file[0..<24])
            for index in 0..<4 { file[24 + index] = UInt8(truncatingIfNeeded: crc >> (8 * index)) }
        }
        if flags & 0x10 != 0 {
            var offset = HistoryConfig.headerBytes
            while offset + HistoryConfig.recordBytes <= file.count {
                let crc = CRC32.checksum(file[offset..<offset + 36])
                for index in 0..<4 { file[offset + 36 + index] = UInt8(truncatingIfNeeded: crc >> (8 * index)) }
                offset += HistoryConfig.recordBytes
            }
        }
        let directory = Scratch.directory("history")
        Scratch.write(file, to: HistoryStore.path(directory, tags[0]))
        let config = HistoryConfig(directory: directory, maxBytes: 1 << 30, syncIntervalMs: 1000, maxReadValues: 64, tags: [])
        guard let store = try? HistoryStore(config: config, tags: tags,
                                            historized: [HistorizedTag(index: 0, maxValues: capacity, maxAgeNs: nil)],
                                            logger: logger) else { return }
        let window = store.file(0)?.window ?? (1, 0)
        check(store, start: flags & 0x02 != 0 ? nil : start, end: flags & 0x04 != 0 ? nil : end,
              bounds: flags & 0x01 != 0, page: page, window: window)
        _ = store.readAtTime(tag: 0, times: [start, end, Self.base], simpleBounds: flags & 0x01 != 0, resolutionNs: 100,
                             nowNs: Self.base)

        // A value appended after whatever was there is the newest, and stays so on reopening.
        let now = Self.base + 1_000_000 * 60_000_000_000
        store.queue.push(Sample(tag: 0, quality: .good, timestamp: now, value: SampleValue(double: 42)),
                         text: UnsafeBufferPointer(start: nil, count: 0))
        store.drain(nowNs: now)
        store.sync()
        let newest = store.file(0)?.window.newest ?? 0
        expect(store.file(0)?.record(newest)?.value.double == 42, "the appended value is not the newest")
        guard let again = try? HistoryStore(config: config, tags: tags,
                                            historized: [HistorizedTag(index: 0, maxValues: capacity, maxAgeNs: nil)],
                                            logger: logger) else { return expect(false, "a file the store wrote does not open") }
        expect(again.file(0)?.window.newest == newest, "reopening lost the appended value")
    }

    /// Reads a plan page by page: each page within its limit, within the ring, moving on.
    private func check(_ store: HistoryStore, start: Int64?, end: Int64?, bounds: Bool, page: Int,
                       window: (oldest: UInt64, newest: UInt64)) {
        guard var plan = store.planRaw(tag: 0, startNs: start, endNs: end, bounds: bounds, nowNs: Self.base) else {
            expect(start == nil && end == nil, "a plan refused with a time given")
            return
        }
        var pages = 0
        while pages < 1000 {
            let (items, rest) = store.readRaw(plan, limit: page)
            pages += 1
            expect(items.count <= page, "\(items.count) items for a page of \(page)")
            for case .value(let record) in items {
                expect(record.seq >= window.oldest && record.seq <= window.newest,
                       "value \(record.seq) outside the ring \(window.oldest)…\(window.newest)")
            }
            guard let rest else { return }
            expect(rest != plan, "a page that does not move on")
            plan = rest
        }
        expect(false, "a read of a ring of at most 64 values took 1000 pages")
    }

    static func seeds() -> [[UInt8]] {
        let directory = Scratch.directory("history-seeds")
        let tags = [Tag(name: "level", device: "tank", path: "acme/tank/level", dataType: .float64)]
        let config = HistoryConfig(directory: directory, maxBytes: 1 << 30, syncIntervalMs: 1000, maxReadValues: 64, tags: [])
        var seeds: [[UInt8]] = []
        for (capacity, values) in [(8, 5), (8, 13), (30, 30)] {
            Scratch.remove(HistoryStore.path(directory, tags[0]))
            guard let store = try? HistoryStore(config: config, tags: tags,
                                                historized: [HistorizedTag(index: 0, maxValues: capacity, maxAgeNs: nil)],
                                                logger: Logger(label: "seed") { _ in SwiftLogNoOpLogHandler() }) else { continue }
            for minute in 0..<values {
                let quality = minute % 4 == 3 ? Quality(reason: .timeout) : .good
                store.queue.push(Sample(tag: 0, quality: quality, timestamp: base + Int64(minute) * 60_000_000_000,
                                        value: SampleValue(double: Double(minute))),
                                 text: UnsafeBufferPointer(start: nil, count: 0))
            }
            store.drain(nowNs: base)
            store.sync()
            let fd = open(HistoryStore.path(directory, tags[0]), O_RDONLY)
            guard fd >= 0 else { continue }
            var file = [UInt8](repeating: 0, count: HistoryConfig.fileBytes(values: capacity))
            let n = file.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            close(fd)
            // Start at minute 1 of 500 (a time of 0 is 500 minutes before the base), end at minute 9.
            let start: [UInt8] = [0, 0, 0, 0, 0, 0, 0x01, 0xF5], end: [UInt8] = [0, 0, 0, 0, 0, 0, 0x01, 0xFD]
            for flags: UInt8 in [0x00, 0x01, 0x02, 0x05] {
                seeds.append([UInt8(capacity - 2), flags] + start + end + [4] + file.prefix(max(0, n)))
            }
        }
        return seeds
    }
}
