import Synchronization

/// A bounded single-producer / single-consumer queue of `Sample`s.
///
/// HOT PATH: `push` runs in the sampling loop and must not allocate, block or
/// retain. Storage is allocated once in `init`. A full ring drops the new
/// sample and counts an overrun; the producer is never blocked.
///
/// String values travel in a side slot of `slotBytes` bytes that belongs to
/// the same ring position as the sample, so the producer cannot overwrite it
/// before the consumer has read it.
///
/// Exactly one thread may call `push`, and exactly one (other) thread `drain`.
public final class SampleRing: @unchecked Sendable {
    public let capacity: Int
    /// Bytes of text each position can carry (0: the ring carries no strings).
    public let slotBytes: Int
    private let mask: Int
    private let storage: UnsafeMutablePointer<Sample>
    private let text: UnsafeMutablePointer<UInt8>?
    /// Next position the consumer reads.
    private let head = Atomic<Int>(0)
    /// Next position the producer writes.
    private let tail = Atomic<Int>(0)
    private let overrunCount = Atomic<Int>(0)

    /// - Parameters:
    ///   - minimumCapacity: rounded up to a power of two (at least 2).
    ///   - slotBytes: longest string payload per sample, in bytes.
    public init(minimumCapacity: Int, slotBytes: Int = 0) {
        var capacity = 2
        while capacity < minimumCapacity { capacity <<= 1 }
        self.capacity = capacity
        self.mask = capacity - 1
        self.slotBytes = slotBytes
        storage = .allocate(capacity: capacity)
        storage.initialize(repeating: Sample(tag: 0, quality: .good, timestamp: 0, value: .zero), count: capacity)
        if slotBytes > 0 {
            let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * slotBytes)
            bytes.initialize(repeating: 0, count: capacity * slotBytes)
            text = bytes
        } else {
            text = nil
        }
    }

    deinit {
        storage.deallocate()
        text?.deallocate()
    }

    /// Samples dropped because the ring was full.
    public var overruns: Int { overrunCount.load(ordering: .relaxed) }

    /// Samples waiting to be drained.
    public var count: Int { tail.load(ordering: .acquiring) - head.load(ordering: .acquiring) }

    /// Producer side. Returns false (and counts an overrun) when full.
    @discardableResult
    public func push(_ sample: Sample) -> Bool {
        let position = tail.load(ordering: .relaxed)
        guard position - head.load(ordering: .acquiring) < capacity else {
            overrunCount.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        storage[position & mask] = sample
        tail.store(position + 1, ordering: .releasing)
        return true
    }

    /// Producer side, for string samples: copies up to `slotBytes` bytes of
    /// `bytes` beside the sample and stores the copied length in its value.
    @discardableResult
    public func push(_ sample: Sample, text bytes: UnsafeRawBufferPointer) -> Bool {
        let position = tail.load(ordering: .relaxed)
        guard position - head.load(ordering: .acquiring) < capacity else {
            overrunCount.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        var stored = sample
        if let text {
            let length = min(bytes.count, slotBytes)
            if length > 0, let base = bytes.baseAddress {
                (text + (position & mask) * slotBytes).update(
                    from: base.assumingMemoryBound(to: UInt8.self), count: length)
            }
            stored.value = SampleValue(uint: UInt64(length))
        } else {
            stored.value = .zero
        }
        storage[position & mask] = stored
        tail.store(position + 1, ordering: .releasing)
        return true
    }

    /// Consumer side: hands every waiting sample with its whole text slot
    /// (empty when the ring carries no text) to `body`, then frees the
    /// positions. For a string sample the text is the slot's first
    /// `sample.value.uint` bytes; for other samples the slot means nothing.
    /// Returns the number of samples drained.
    @discardableResult
    public func drain(_ body: (Sample, UnsafeBufferPointer<UInt8>) -> Void) -> Int {
        let start = head.load(ordering: .relaxed)
        let end = tail.load(ordering: .acquiring)
        var position = start
        while position < end {
            let sample = storage[position & mask]
            if let text {
                body(sample, UnsafeBufferPointer(start: text + (position & mask) * slotBytes, count: slotBytes))
            } else {
                body(sample, UnsafeBufferPointer(start: nil, count: 0))
            }
            position += 1
            // Release each position as soon as it is consumed, so a slow
            // consumer frees room for the producer early.
            head.store(position, ordering: .releasing)
        }
        return end - start
    }
}
