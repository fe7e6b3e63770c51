import Synchronization

/// Requests waiting for a south thread: queued from any thread, taken by the
/// bus or line thread between cycles.
///
/// The methods are inlinable so that they are specialized for their entry
/// type where they are called: unspecialized, every call looked up the
/// metadata of `[Entry]` at run time — a quarter of a Modbus bus thread's
/// instructions per cycle (callgrind, Benchmarks/modbus/instructions.py).
///
/// Bounded: past `limit` entries `append` refuses (a client sending 40 000
/// writes in one message gets refusals, the bus keeps polling).
public final class PendingQueue<Entry: Sendable>: Sendable {
    @usableFromInline let entries = Mutex<[Entry]>([])
    public let limit: Int

    /// The most requests one south thread holds waiting.
    public static var defaultLimit: Int { 1024 }

    @inlinable public init(limit: Int = PendingQueue.defaultLimit) {
        self.limit = limit
    }

    /// Queues `entry`; false (and nothing queued) when `limit` entries wait already.
    @inlinable @discardableResult public func append(_ entry: Entry) -> Bool {
        entries.withLock { queue in
            guard queue.count < limit else { return false }
            queue.append(entry)
            return true
        }
    }

    /// At most `count` of the oldest entries; the rest stay queued. Allocates nothing when the
    /// queue is empty.
    @inlinable public func take(upTo count: Int) -> [Entry] {
        entries.withLock { queue in
            if queue.isEmpty { return [] }
            if queue.count <= count {
                defer { queue = [] }
                return queue
            }
            let taken = Array(queue.prefix(count))
            queue.removeFirst(count)
            return taken
        }
    }

    public var count: Int { entries.withLock { $0.count } }

    /// Everything queued, oldest first; the queue is left empty. Allocates
    /// nothing when the queue is empty (the sampling loop calls it every cycle).
    @inlinable public func takeAll() -> [Entry] {
        entries.withLock { queue in
            if queue.isEmpty { return [] }
            defer { queue = [] }
            return queue
        }
    }
}

/// A write waiting for its south thread.
public struct PendingWrite: Sendable {
    public var tag: Int
    public var value: WriteValue
    public var completion: @Sendable (WriteOutcome) -> Void
}

/// Writes waiting for a south thread.
public typealias WriteQueue = PendingQueue<PendingWrite>

extension PendingQueue where Entry == PendingWrite {
    /// Queues a write, or answers it at once with a refusal when the queue is full.
    public func append(tag: Int, value: WriteValue, completion: @escaping @Sendable (WriteOutcome) -> Void) {
        guard append(PendingWrite(tag: tag, value: value, completion: completion)) else {
            return completion(.refused("\(limit) writes are waiting for this bus already; try again later"))
        }
    }

    /// Answers everything queued with `failed(why)`.
    public func failAll(_ why: String) {
        for entry in takeAll() { entry.completion(.failed(why)) }
    }
}
