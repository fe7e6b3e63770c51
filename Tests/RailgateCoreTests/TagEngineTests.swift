import Glibc
import Testing
@testable import RailgateCore

struct TagEngineTests {
    let tags = [
        Tag(name: "v", device: "d", path: "a/d/v", dataType: .float32, deadband: 0.5),
        Tag(name: "n", device: "d", path: "a/d/n", dataType: .uint16),
        Tag(name: "s", device: "d", path: "a/d/s", dataType: .string, stringLength: 4),
    ]

    func setup() -> (TagEngine, SampleRing, ChangeQueue) {
        let ring = SampleRing(minimumCapacity: 64, slotBytes: 8)
        let sink = ChangeQueue(name: "test", tags: tags, capacity: 64)
        let engine = TagEngine(table: TagTable(tags: tags), rings: [ring], sinks: [sink])
        return (engine, ring, sink)
    }

    func changes(_ sink: ChangeQueue) -> [Sample] {
        var out: [Sample] = []
        sink.drain { out.append($0.sample) }
        return out
    }

    @Test func deadbandSuppressesSmallMovesFromTheLastPublishedValue() {
        let (engine, ring, sink) = setup()
        for (i, v) in [10.0, 10.3, 10.5, 10.6, 9.9, 11.2].enumerated() {
            ring.push(Sample(tag: 0, quality: .good, timestamp: Int64(i), value: SampleValue(double: v)))
        }
        engine.drainOnce()
        // 10.0 first; 10.3 and 10.5 within 0.5 of 10.0; 10.6 exceeds; 9.9 exceeds 10.6 by 0.7; 11.2 exceeds.
        #expect(changes(sink).map(\.value.double) == [10.0, 10.6, 9.9, 11.2])
        // The table always holds the latest value.
        #expect(engine.table.state(0).sample.value.double == 11.2)
    }

    @Test func anyChangeWithoutDeadbandAndQualityTransitions() {
        let (engine, ring, sink) = setup()
        ring.push(Sample(tag: 1, quality: .good, timestamp: 1, value: SampleValue(uint: 5)))
        ring.push(Sample(tag: 1, quality: .good, timestamp: 2, value: SampleValue(uint: 5)))
        ring.push(Sample(tag: 1, quality: Quality(reason: .timeout), timestamp: 3, value: .zero))
        ring.push(Sample(tag: 1, quality: Quality(reason: .timeout), timestamp: 4, value: .zero))
        ring.push(Sample(tag: 1, quality: Quality(reason: .exception, detail: 2), timestamp: 5, value: .zero))
        ring.push(Sample(tag: 1, quality: .good, timestamp: 6, value: SampleValue(uint: 5)))
        ring.push(Sample(tag: 1, quality: .good, timestamp: 7, value: SampleValue(uint: 6)))
        engine.drainOnce()
        #expect(changes(sink).map(\.timestamp) == [1, 3, 5, 6, 7])
        #expect(engine.stats.samples == 7)
        #expect(engine.stats.changes == 5)
    }

    @Test func badQualityKeepsTheLastValueInTheTable() {
        let (engine, ring, _) = setup()
        ring.push(Sample(tag: 1, quality: .good, timestamp: 1, value: SampleValue(uint: 42)))
        ring.push(Sample(tag: 1, quality: Quality(reason: .disconnected), timestamp: 2, value: .zero))
        engine.drainOnce()
        let state = engine.table.state(1)
        #expect(state.sample.value.uint == 42)
        #expect(state.sample.quality == Quality(reason: .disconnected))
        #expect(state.sample.timestamp == 2)
    }

    @Test func stringChangesAreDetectedByContent() {
        let (engine, ring, sink) = setup()
        for text in ["AB", "AB", "ABC"] {
            _ = Array(text.utf8).withUnsafeBytes {
                ring.push(Sample(tag: 2, quality: .good, timestamp: 0, value: .zero), text: $0)
            }
        }
        engine.drainOnce()
        // Each change carries its own text, whatever the table holds by the time the sink reads it.
        var texts: [String?] = []
        sink.drain { texts.append($0.text) }
        #expect(texts == ["AB", "ABC"])
        #expect(engine.table.state(2).text == "ABC")
    }

    @Test func tagsStartWaitingForInitialData() {
        let (engine, _, _) = setup()
        #expect(engine.table.state(0).sample.quality.reason == .waitingForInitialData)
    }

    @Test func fullSinkCountsOverrunsAndNeverBlocks() {
        let ring = SampleRing(minimumCapacity: 64)
        let sink = ChangeQueue(name: "slow", tags: tags, capacity: 4)
        let engine = TagEngine(table: TagTable(tags: tags), rings: [ring], sinks: [sink])
        for i in 0..<10 { ring.push(Sample(tag: 1, quality: .good, timestamp: 0, value: SampleValue(uint: UInt64(i)))) }
        engine.drainOnce()
        #expect(engine.stats.sinkOverruns == 6)
    }

    @Test func aGoodValueOlderThanItsDeadlineGoesBadUntilANewSampleComes() throws {
        let ring = SampleRing(minimumCapacity: 64, slotBytes: 8)
        let sink = ChangeQueue(name: "test", tags: tags, capacity: 64)
        // Tag 0 must be read again within 300 ms; tag 1 has no deadline.
        let engine = TagEngine(table: TagTable(tags: tags), rings: [ring], sinks: [sink], maxAgesNs: [300_000_000, 0, 0])
        ring.push(Sample(tag: 0, quality: .good, timestamp: 1, value: SampleValue(double: 7)))
        ring.push(Sample(tag: 1, quality: .good, timestamp: 1, value: SampleValue(uint: 5)))
        engine.drainOnce()
        #expect(changes(sink).count == 2)
        engine.drainOnce()
        #expect(changes(sink).isEmpty && engine.table.state(0).sample.quality.isGood)
        // No sample for longer than the deadline (and a sweep, every 0.5 s): Bad (timeout), the last value kept.
        let waitUntil = Clock.monotonicNs() + 1_200_000_000
        while Clock.monotonicNs() < waitUntil && engine.table.state(0).sample.quality.isGood {
            usleep(50_000)
            engine.drainOnce()
        }
        #expect(engine.table.state(0).sample.quality == Quality(reason: .timeout))
        #expect(engine.table.state(0).sample.value.double == 7)
        #expect(engine.table.state(1).sample.quality.isGood)
        #expect(changes(sink).map(\.quality) == [Quality(reason: .timeout)])
        // Once: later sweeps leave it as it is.
        usleep(600_000)
        engine.drainOnce()
        #expect(changes(sink).isEmpty)
        // A new sample makes it good again.
        ring.push(Sample(tag: 0, quality: .good, timestamp: 2, value: SampleValue(double: 8)))
        engine.drainOnce()
        #expect(changes(sink).map(\.quality) == [.good])
    }
}
