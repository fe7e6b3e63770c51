import Testing
@testable import RailgateCore

struct ChangeQueueTests {
    let tags = [
        Tag(name: "n", device: "d", path: "a/d/n", dataType: .uint16),
        Tag(name: "s", device: "d", path: "a/d/s", dataType: .string, stringLength: 2),
    ]

    func push(_ queue: ChangeQueue, _ sample: Sample, _ text: String) {
        Array(text.utf8).withUnsafeBufferPointer { _ = queue.push(sample, text: $0) }
    }

    @Test func stringChangesCarryTheirTextNumbersNone() {
        let queue = ChangeQueue(name: "t", tags: tags, capacity: 8)
        push(queue, Sample(tag: 0, quality: .good, timestamp: 1, value: SampleValue(uint: 7)), "ignored")
        push(queue, Sample(tag: 1, quality: .good, timestamp: 2, value: .zero), "AB")
        // Longer than the longest string (2 registers, 4 bytes): cut to the slot.
        push(queue, Sample(tag: 1, quality: .good, timestamp: 3, value: .zero), "ABCDEF")
        push(queue, Sample(tag: 1, quality: Quality(reason: .timeout), timestamp: 4, value: .zero), "")
        // A tag the queue was not built for (a stale index): passed on without text, never a trap.
        push(queue, Sample(tag: 9, quality: .good, timestamp: 5, value: .zero), "X")
        var changes: [Change] = []
        #expect(queue.drain { changes.append($0) } == 5)
        #expect(changes.map(\.text) == [nil, "AB", "ABCD", nil, nil])
        #expect(changes[0].sample.value.uint == 7)
        #expect(queue.count == 0)
    }

    @Test func aFullQueueDropsAndCountsAndDiscardEmptiesIt() {
        let queue = ChangeQueue(name: "t", tags: tags, capacity: 2)
        for i in 0..<5 { push(queue, Sample(tag: 0, quality: .good, timestamp: Int64(i), value: .zero), "") }
        #expect(queue.overruns == 3 && queue.count == 2)
        #expect(queue.discard() == 2 && queue.count == 0)
    }

    @Test func noStringTagsNoTextSlots() {
        let queue = ChangeQueue(name: "t", tags: [tags[0]], capacity: 4)
        push(queue, Sample(tag: 0, quality: .good, timestamp: 1, value: SampleValue(uint: 3)), "")
        var changes: [Change] = []
        queue.drain { changes.append($0) }
        #expect(changes == [Change(Sample(tag: 0, quality: .good, timestamp: 1, value: SampleValue(uint: 3)))])
    }
}
