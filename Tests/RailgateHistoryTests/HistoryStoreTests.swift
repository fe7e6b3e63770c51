import Foundation
import Logging
import RailgateConfig
import RailgateCore
import Testing
@testable import RailgateHistory

struct HistoryStoreTests {
    let directory = NSTemporaryDirectory() + "history-\(UUID().uuidString)"
    let tags = [
        Tag(name: "speed", device: "m1", path: "acme/m1/speed", dataType: .float64),
        Tag(name: "name", device: "m1", path: "acme/m1/name", dataType: .string, stringLength: 8),
        Tag(name: "count", device: "m1", path: "acme/m1/count", dataType: .uint32),
    ]
    /// 5:00 in the examples of OPC UA Part 11 §4.4 (values at 5:00, 5:02, 5:03, 5:05, 5:06).
    static let base: Int64 = 1_700_000_000_000_000_000
    static func at(_ minute: Int) -> Int64 { base + Int64(minute) * 60_000_000_000 }

    func store(values: Int = 100, maxAgeNs: Int64? = nil) throws -> HistoryStore {
        let config = HistoryConfig(directory: directory, maxBytes: 1 << 30, syncIntervalMs: 1000, maxReadValues: 1000,
                                   tags: [])
        return try HistoryStore(config: config, tags: tags,
                                historized: [HistorizedTag(index: 0, maxValues: values, maxAgeNs: maxAgeNs)],
                                logger: Logger(label: "test"))
    }

    func record(_ store: HistoryStore, _ values: [(minute: Int, value: Double)], tag: UInt32 = 0) {
        for (minute, value) in values {
            store.queue.push(Sample(tag: tag, quality: .good, timestamp: Self.at(minute), value: SampleValue(double: value)),
                             text: UnsafeBufferPointer(start: nil, count: 0))
        }
        store.drain()
    }

    /// The example data of Part 11 §4.4.
    func example() throws -> HistoryStore {
        let store = try store()
        record(store, [(0, 0), (2, 2), (3, 3), (5, 5), (6, 6)])
        return store
    }

    /// A raw read as minutes, FIRST / LAST for missing bounds.
    func raw(_ store: HistoryStore, _ start: Int?, _ end: Int?, bounds: Bool, limit: Int = 100) -> [String] {
        guard let plan = store.planRaw(tag: 0, startNs: start.map(Self.at), endNs: end.map(Self.at), bounds: bounds,
                                       nowNs: Self.at(10)) else { return ["refused"] }
        return store.readRaw(plan, limit: limit).items.map { item in
            switch item {
            case .value(let record): "\((record.sourceNs - Self.base) / 60_000_000_000)"
            case .noBound(let at): at == start.map(Self.at) ? "FIRST" : "LAST"
            }
        }
    }

    @Test func rawReadsFollowPart11TimeDomains() throws {
        let store = try example()
        // Forward: start inclusive, end exclusive; bounds take the values at or around the edges.
        #expect(raw(store, 0, 5, bounds: true) == ["0", "2", "3", "5"])
        #expect(raw(store, 0, 5, bounds: false) == ["0", "2", "3"])
        #expect(raw(store, 1, 4, bounds: true) == ["0", "2", "3", "5"])
        #expect(raw(store, 1, 4, bounds: false) == ["2", "3"])
        // Reverse: newest first.
        #expect(raw(store, 5, 0, bounds: true) == ["5", "3", "2", "0"])
        #expect(raw(store, 5, 0, bounds: false) == ["5", "3", "2"])
        #expect(raw(store, 4, 1, bounds: true) == ["5", "3", "2", "0"])
        #expect(raw(store, 4, 1, bounds: false) == ["3", "2"])
        // Missing bounds are markers at the requested edge.
        #expect(raw(store, -1, 5, bounds: true) == ["FIRST", "0", "2", "3", "5"])
        #expect(raw(store, -1, 5, bounds: false) == ["0", "2", "3"])
        #expect(raw(store, 1, 7, bounds: true) == ["0", "2", "3", "5", "6", "LAST"])
        #expect(raw(store, 1, 7, bounds: false) == ["2", "3", "5", "6"])
        // One time and a count.
        #expect(raw(store, 0, nil, bounds: true, limit: 3) == ["0", "2", "3"])
        #expect(raw(store, 1, nil, bounds: true, limit: 3) == ["0", "2", "3"])
        #expect(raw(store, 1, nil, bounds: false, limit: 3) == ["2", "3", "5"])
        #expect(raw(store, nil, 5, bounds: true, limit: 3) == ["5", "3", "2"])
        #expect(raw(store, nil, 5, bounds: false, limit: 3) == ["3", "2", "0"])
        #expect(raw(store, nil, 4, bounds: true, limit: 3) == ["5", "3", "2"])
        #expect(raw(store, nil, 4, bounds: false, limit: 3) == ["3", "2", "0"])
        #expect(raw(store, -1, nil, bounds: true, limit: 3) == ["FIRST", "0", "2"])
        // The same instant twice: the value at it, once.
        #expect(raw(store, 3, 3, bounds: false) == ["3"])
        #expect(raw(store, 3, 3, bounds: true) == ["3"])
        #expect(raw(store, nil, nil, bounds: false) == ["refused"])
    }

    @Test func aPlanContinuesWherePagesEnd() throws {
        let store = try store(values: 1000)
        record(store, (0..<250).map { ($0, Double($0)) })
        var plan = try #require(store.planRaw(tag: 0, startNs: Self.at(10), endNs: Self.at(200), bounds: false,
                                              nowNs: Self.at(300)))
        var minutes: [Int64] = []
        var pages = 0
        while true {
            let page = store.readRaw(plan, limit: 64)
            pages += 1
            for case .value(let record) in page.items { minutes.append((record.sourceNs - Self.base) / 60_000_000_000) }
            guard let rest = page.rest else { break }
            plan = rest
        }
        #expect(pages == 3)
        #expect(minutes == Array(10..<200))
    }

    @Test func theRingKeepsTheNewestValuesAndReopensWhereItStopped() throws {
        do {
            let store = try store(values: 10)
            record(store, (0..<25).map { ($0, Double($0)) })
            store.sync()
            record(store, [(25, 25), (26, 26)])  // not synced: still found on reopening (the records follow on)
        }
        let reopened = try store(values: 10)
        #expect(raw(reopened, 0, 30, bounds: false) == (17...26).map(String.init))
        record(reopened, [(27, 27)])
        #expect(raw(reopened, nil, 30, bounds: false, limit: 2) == ["27", "26"])
    }

    @Test func aTornRecordEndsTheHistoryThereOnReopening() throws {
        do {
            let store = try store(values: 10)
            record(store, (0..<3).map { ($0, Double($0)) })
            store.sync()
            record(store, (3..<6).map { ($0, Double($0)) })
        }
        // Tear value 5 (seq 5, slot 4): its checksum no longer matches.
        let path = HistoryStore.path(directory, tags[0])
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(HistoryConfig.headerBytes + 4 * HistoryConfig.recordBytes + 10))
        try handle.write(contentsOf: [0xFF, 0xFF])
        try handle.close()
        let reopened = try store(values: 10)
        #expect(raw(reopened, 0, 10, bounds: false) == ["0", "1", "2", "3"])
        // The next value takes the torn one's place.
        record(reopened, [(7, 7)])
        #expect(raw(reopened, 0, 10, bounds: false) == ["0", "1", "2", "3", "7"])
    }

    @Test func anotherSizeKeepsTheNewestValues() throws {
        do {
            let store = try store(values: 20)
            record(store, (0..<15).map { ($0, Double($0)) })
            store.sync()
        }
        let smaller = try store(values: 5)
        #expect(raw(smaller, 0, 30, bounds: false) == (10...14).map(String.init))
        let file = HistoryStore.path(directory, tags[0])
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        #expect(size == HistoryConfig.fileBytes(values: 5))
        record(smaller, [(15, 15)])
        let larger = try store(values: 50)
        #expect(raw(larger, 0, 30, bounds: false) == (11...15).map(String.init))
    }

    @Test func aDamagedHeaderIsSetAsideNotDeleted() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = HistoryStore.path(directory, tags[0])
        try Data(repeating: 0x41, count: 300).write(to: URL(fileURLWithPath: path))
        let store = try store()
        record(store, [(1, 1)])
        #expect(raw(store, 0, 5, bounds: false) == ["1"])
        let kept = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".damaged-") }
        #expect(kept.count == 1)
    }

    @Test func valuesOlderThanTheMaximumAgeAreNotServed() throws {
        let store = try store(maxAgeNs: 5 * 60_000_000_000)
        record(store, (0..<10).map { ($0, Double($0)) })
        // At 5:10 values from 5:05 on are young enough.
        #expect(raw(store, 0, 10, bounds: false) == ["5", "6", "7", "8", "9"])
        #expect(raw(store, 0, 10, bounds: true) == ["FIRST", "5", "6", "7", "8", "9", "LAST"])
    }

    @Test func onlyHistorizedTagsAreQueuedAndStored() throws {
        let store = try store()
        record(store, [(1, 1)], tag: 2)
        store.queue.push(Sample(tag: 1, quality: .good, timestamp: Self.at(1), value: SampleValue(uint: 0)),
                         text: UnsafeBufferPointer(start: nil, count: 0))
        #expect(store.queue.count == 0)
        #expect(store.drain() == 0)
        #expect(store.has(0) && !store.has(1) && !store.has(2))
        #expect(store.planRaw(tag: 2, startNs: 0, endNs: nil, bounds: false) == nil)
    }

    @Test func atTimeGivesTheStoredValueOrTheValuesAround() throws {
        let store = try example()
        let values = try #require(store.readAtTime(tag: 0, times: [Self.at(2), Self.at(4), Self.at(-1), Self.at(9)],
                                                   simpleBounds: true, nowNs: Self.at(10)))
        guard case .stored(let exact) = values[0], case .between(let before, let after?) = values[1],
              case .noData = values[2], case .between(let last, nil) = values[3] else {
            Issue.record("unexpected \(values)")
            return
        }
        #expect(exact.value.double == 2)
        #expect(before.value.double == 3 && after.value.double == 5)
        #expect(last.value.double == 6)
    }

    @Test func badValuesArePassedOverUnlessBoundsAreSimple() throws {
        let store = try store()
        record(store, [(0, 0)])
        store.queue.push(Sample(tag: 0, quality: Quality(reason: .timeout), timestamp: Self.at(2), value: SampleValue(double: 0)),
                         text: UnsafeBufferPointer(start: nil, count: 0))
        store.drain()
        record(store, [(6, 6)])
        let values = try #require(store.readAtTime(tag: 0, times: [Self.at(3)], simpleBounds: false, nowNs: Self.at(10)))
        guard case .between(let before, let after?) = values[0] else { Issue.record("\(values)"); return }
        #expect(before.sourceNs == Self.at(0) && after.sourceNs == Self.at(6))
        let simple = try #require(store.readAtTime(tag: 0, times: [Self.at(3)], simpleBounds: true, nowNs: Self.at(10)))
        guard case .between(let bad, _) = simple[0] else { Issue.record("\(simple)"); return }
        #expect(bad.quality.reason == .timeout)
    }
}

extension HistoryStoreTests {
    @Test func aTimeInTheSameStepAsAStoredValueIsThatValue() throws {
        let store = try store()
        // Stored at 5:02 and 37 ns; OPC UA gives times in 100 ns steps: 5:02 is the step holding it.
        store.queue.push(Sample(tag: 0, quality: .good, timestamp: Self.at(2) + 37, value: SampleValue(double: 2)),
                         text: UnsafeBufferPointer(start: nil, count: 0))
        store.drain()
        let values = try #require(store.readAtTime(tag: 0, times: [Self.at(2), Self.at(2) + 100], simpleBounds: true,
                                                   resolutionNs: 100, nowNs: Self.at(10)))
        guard case .stored(let same) = values[0], case .between(let before, nil) = values[1] else {
            Issue.record("\(values)")
            return
        }
        #expect(same.value.double == 2 && before.sourceNs == Self.at(2) + 37)
    }
}
