import Synchronization

/// Writes waiting for a south thread: queued from any thread, taken by the
/// bus or line thread between cycles.
public final class WriteQueue: Sendable {
    public struct Entry: Sendable {
        public var tag: Int
        public var value: WriteValue
        public var completion: @Sendable (WriteOutcome) -> Void
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    public func append(tag: Int, value: WriteValue, completion: @escaping @Sendable (WriteOutcome) -> Void) {
        entries.withLock { $0.append(Entry(tag: tag, value: value, completion: completion)) }
    }

    /// Everything queued, oldest first; the queue is left empty. Allocates
    /// nothing when the queue is empty (the sampling loop calls it every cycle).
    public func takeAll() -> [Entry] {
        entries.withLock { queue in
            if queue.isEmpty { return [] }
            defer { queue = [] }
            return queue
        }
    }

    /// Answers everything queued with `failed(why)`.
    public func failAll(_ why: String) {
        for entry in takeAll() { entry.completion(.failed(why)) }
    }
}
