import Synchronization

/// Requests waiting for a south thread: queued from any thread, taken by the
/// bus or line thread between cycles.
///
/// The methods are inlinable so that they are specialized for their entry
/// type where they are called: unspecialized, every call looked up the
/// metadata of `[Entry]` at run time — a quarter of a Modbus bus thread's
/// instructions per cycle (callgrind, Benchmarks/modbus/instructions.py).
public final class PendingQueue<Entry: Sendable>: Sendable {
    @usableFromInline let entries = Mutex<[Entry]>([])

    @inlinable public init() {}

    @inlinable public func append(_ entry: Entry) {
        entries.withLock { $0.append(entry) }
    }

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
    public func append(tag: Int, value: WriteValue, completion: @escaping @Sendable (WriteOutcome) -> Void) {
        append(PendingWrite(tag: tag, value: value, completion: completion))
    }

    /// Answers everything queued with `failed(why)`.
    public func failAll(_ why: String) {
        for entry in takeAll() { entry.completion(.failed(why)) }
    }
}
