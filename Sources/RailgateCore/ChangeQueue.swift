/// One change from the engine to a north sink: the sample and, for a string tag, its text as the
/// engine had it with this sample (not as the tag table has it later, when the text may have
/// changed again).
public struct Change: Sendable, Equatable {
    public var sample: Sample
    public var text: String?

    public init(_ sample: Sample, text: String? = nil) {
        self.sample = sample
        self.text = text
    }
}

/// The bounded queue from the `TagEngine` to one north sink, with a wakeup.
/// A full queue drops the change and counts it (`overruns`); the engine never
/// waits for a sink. A string tag's text travels beside its sample in the
/// queue's own slot (as many bytes as the longest configured string), so the
/// engine pushes without allocating and the sink gets the text of that change.
public final class ChangeQueue: Sendable {
    public let name: String
    public let wakeup = Wakeup()
    private let ring: SampleRing
    /// Per gateway tag: whether its changes carry text.
    private let carriesText: [Bool]
    /// Per gateway tag: whether its changes are queued; nil: every tag's are.
    private let accepting: [Bool]?

    /// - Parameters:
    ///   - tags: the gateway's tags, by index; string tags' text is carried.
    ///   - accepting: per tag, whether this sink wants its changes (nil: all); the others are
    ///     passed over without taking room.
    public init(name: String, tags: [Tag], capacity: Int = 16384, accepting: [Bool]? = nil) {
        self.name = name
        self.accepting = accepting
        let wanted = tags.indices.map { index in accepting.map { $0.indices.contains(index) && $0[index] } ?? true }
        let carries = tags.indices.map { tags[$0].dataType == .string && wanted[$0] }
        carriesText = carries
        let longest = tags.indices.lazy.filter { carries[$0] }.map { max(0, tags[$0].stringLength) * 2 }.max() ?? 0
        ring = SampleRing(minimumCapacity: capacity, slotBytes: longest)
    }

    public var overruns: Int { ring.overruns }

    /// Changes waiting.
    public var count: Int { ring.count }

    /// Engine side. HOT PATH: allocates nothing. `text`: the string tag's bytes (else empty).
    @discardableResult
    public func push(_ sample: Sample, text: UnsafeBufferPointer<UInt8>) -> Bool {
        let index = Int(sample.tag)
        if let accepting, !(index < accepting.count && accepting[index]) { return true }
        guard index < carriesText.count, carriesText[index] else { return ring.push(sample) }
        return ring.push(sample, text: UnsafeRawBufferPointer(text))
    }

    /// Sink side: every waiting change, oldest first. Returns how many.
    @discardableResult
    public func drain(_ body: (Change) -> Void) -> Int {
        ring.drain { sample, slot in
            let index = Int(sample.tag)
            guard index < carriesText.count, carriesText[index], sample.quality.isGood else {
                return body(Change(sample))
            }
            let length = Int(truncatingIfNeeded: min(sample.value.uint, UInt64(slot.count)))
            body(Change(sample, text: String(decoding: UnsafeBufferPointer(rebasing: slot.prefix(length)), as: UTF8.self)))
        }
    }

    /// Drops every waiting change (older than a state about to be sent whole); returns how many.
    @discardableResult
    public func discard() -> Int { ring.drain { _, _ in } }
}
