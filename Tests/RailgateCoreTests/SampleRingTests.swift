import Foundation
import Testing
@testable import RailgateCore

struct SampleRingTests {
    func sample(_ tag: UInt32, _ value: Int64 = 0) -> Sample {
        Sample(tag: tag, quality: .good, timestamp: 0, value: SampleValue(int: value))
    }

    @Test func sampleIsATrivialValue() {
        // No references, no heap storage: copying a Sample never retains or allocates.
        #expect(_isPOD(Sample.self))
        #expect(MemoryLayout<Sample>.size <= 24)
    }

    @Test func capacityIsRoundedUpToAPowerOfTwo() {
        #expect(SampleRing(minimumCapacity: 5).capacity == 8)
        #expect(SampleRing(minimumCapacity: 0).capacity == 2)
    }

    @Test func fullRingDropsAndCountsWithoutBlocking() {
        let ring = SampleRing(minimumCapacity: 4)
        for i in 0..<6 { ring.push(sample(UInt32(i))) }
        #expect(ring.overruns == 2)
        var seen: [UInt32] = []
        ring.drain { s, _ in seen.append(s.tag) }
        #expect(seen == [0, 1, 2, 3])
    }

    @Test func wrapsAroundInOrder() {
        let ring = SampleRing(minimumCapacity: 4)
        var seen: [UInt32] = []
        for round in 0..<10 {
            for i in 0..<3 { ring.push(sample(UInt32(round * 3 + i))) }
            ring.drain { s, _ in seen.append(s.tag) }
        }
        #expect(seen == (0..<30).map(UInt32.init))
        #expect(ring.overruns == 0)
    }

    @Test func stringsTravelInTheirSlot() {
        let ring = SampleRing(minimumCapacity: 4, slotBytes: 8)
        let long = Array("ABCDEFGHIJ".utf8)
        _ = long.withUnsafeBytes { ring.push(sample(1), text: $0) }
        _ = Array("hi".utf8).withUnsafeBytes { ring.push(sample(2), text: $0) }
        var texts: [String] = []
        ring.drain { s, slot in
            texts.append(String(decoding: slot.prefix(Int(s.value.uint)), as: UTF8.self))
        }
        #expect(texts == ["ABCDEFGH", "hi"])  // truncated to the slot size
    }

    @Test func oneProducerOneConsumerLoseNothing() async {
        let ring = SampleRing(minimumCapacity: 64)
        let total = 200_000
        let producer = Thread {
            var next = 0
            while next < total {
                if ring.push(Sample(tag: 0, quality: .good, timestamp: 0, value: SampleValue(int: Int64(next)))) {
                    next += 1
                }
            }
        }
        producer.start()
        var expected: Int64 = 0
        var ordered = true
        let deadline = Date().addingTimeInterval(30)
        while expected < Int64(total) && Date() < deadline {
            ring.drain { s, _ in
                if s.value.int != expected { ordered = false }
                expected += 1
            }
        }
        #expect(ordered)
        #expect(expected == Int64(total))
    }
}
