import Synchronization
import Testing
@testable import RailgateCore

struct PendingQueueTests {
    @Test func aFullQueueRefusesAndTakesInBatches() {
        let queue = WriteQueue(limit: 3)
        let outcomes = Mutex<[WriteOutcome]>([])
        for i in 0..<5 {
            queue.append(tag: i, value: .number(Double(i))) { outcome in outcomes.withLock { $0.append(outcome) } }
        }
        // Two over the limit were answered at once, nothing else was.
        #expect(outcomes.withLock { $0 } == Array(repeating: .refused("3 writes are waiting for this bus already; try again later"), count: 2))
        #expect(queue.take(upTo: 2).map(\.tag) == [0, 1])
        #expect(queue.count == 1)
        #expect(queue.take(upTo: 2).map(\.tag) == [2])
        #expect(queue.take(upTo: 2).isEmpty)
    }
}
