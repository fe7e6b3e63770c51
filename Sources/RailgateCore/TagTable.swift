import Synchronization

/// The current state of one tag.
public struct TagState: Sendable, Equatable {
    /// Last value read (kept when quality turns bad), quality and source timestamp.
    public var sample: Sample
    /// CLOCK_REALTIME ns when the engine took the sample in.
    public var gatewayTimestamp: Int64
    /// The text of a string tag; nil for other kinds.
    public var text: String?
}

/// Current value of every tag, indexed like the `Tag` array it was built from.
/// Written by the `TagEngine` only; read by north sinks (MQTT, OPC UA, console)
/// under a short lock that never waits for I/O.
public final class TagTable: Sendable {
    public let tags: [Tag]
    /// The states, and string tags' texts as bytes (each with room for its longest text, so
    /// storing a new text allocates nothing; readers make the `String`).
    private struct Storage {
        var states: [TagState]
        var texts: [[UInt8]]
    }
    private let storage: Mutex<Storage>
    /// Tag indices in the order of their paths (the first of equal paths first): `index(ofPath:)`
    /// searches it. A dictionary took five times the memory (0.4 MB at 10 000 tags) for lookups
    /// made by writes and the console, not by the sampling path.
    private let byPath: [Int]

    public init(tags: [Tag]) {
        self.tags = tags
        let initial = tags.indices.map { index in
            TagState(
                sample: Sample(tag: UInt32(index), quality: Quality(reason: .waitingForInitialData),
                               timestamp: 0, value: .zero),
                gatewayTimestamp: 0,
                text: nil)
        }
        let texts = tags.map { tag -> [UInt8] in
            var bytes: [UInt8] = []
            if tag.dataType == .string { bytes.reserveCapacity(max(0, tag.stringLength) * 2) }
            return bytes
        }
        storage = Mutex(Storage(states: initial, texts: texts))
        byPath = tags.indices.sorted { (tags[$0].path, $0) < (tags[$1].path, $1) }
    }

    public var count: Int { tags.count }

    /// The state of tag `index`.
    public func state(_ index: Int) -> TagState {
        let (state, bytes) = storage.withLock { ($0.states[index], $0.texts[index]) }
        return withText(state, bytes, index)
    }

    /// A copy of all states, in tag order.
    public func snapshot() -> [TagState] {
        let (states, texts) = storage.withLock { ($0.states, $0.texts) }
        return states.indices.map { withText(states[$0], texts[$0], $0) }
    }

    /// The states as they are now, under one lock, for readers that serve many tags at a time
    /// (an OPC UA Read): no copy of a state or a text. `body` must be short and must not call
    /// back into the table (the lock is held while it runs and the engine waits for it).
    public func withStates(_ body: (borrowing StatesView) -> Void) {
        storage.withLock { storage in
            storage.states.withUnsafeBufferPointer { states in
                storage.texts.withUnsafeBufferPointer { texts in
                    body(StatesView(states: states, texts: texts))
                }
            }
        }
    }

    /// The table's states while `withStates` holds its lock. A state's `text` is always nil
    /// here: a string tag's text is `text(index)`, its UTF-8 bytes.
    /// Not copyable: a borrowed view cannot leave the closure it is lent to.
    public struct StatesView: ~Copyable {
        private let states: UnsafeBufferPointer<TagState>
        private let texts: UnsafeBufferPointer<[UInt8]>

        fileprivate init(states: UnsafeBufferPointer<TagState>, texts: UnsafeBufferPointer<[UInt8]>) {
            self.states = states
            self.texts = texts
        }

        /// Indices are the table's own (never a client's number): one out of range is a bug,
        /// stopped here rather than read past the buffer.
        public subscript(_ index: Int) -> TagState {
            precondition(states.indices.contains(index), "tag index out of range")
            return states[index]
        }

        /// The UTF-8 text of string tag `index` (empty for other kinds).
        public func text<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            precondition(texts.indices.contains(index), "tag index out of range")
            return texts[index].withUnsafeBufferPointer(body)
        }
    }

    private func withText(_ state: TagState, _ bytes: [UInt8], _ index: Int) -> TagState {
        var state = state
        if tags[index].dataType == .string { state.text = String(decoding: bytes, as: UTF8.self) }
        return state
    }

    /// Index of the tag with this path, or nil.
    public func index(ofPath path: String) -> Int? {
        var low = 0
        var high = byPath.count
        while low < high {  // the first position whose path is not below `path`
            let middle = low + (high - low) / 2
            if tags[byPath[middle]].path < path { low = middle + 1 } else { high = middle }
        }
        return low < byPath.count && tags[byPath[low]].path == path ? byPath[low] : nil
    }

    /// Engine side: stores a sample, and a string tag's new text when it changed (nil: the text
    /// is unchanged). A bad (not uncertain) sample keeps the last value and text, so readers
    /// see the last known value with its bad quality. Allocates nothing for texts that fit the
    /// tag's length.
    func store(_ sample: Sample, gatewayTimestamp: Int64, text: UnsafeBufferPointer<UInt8>?) {
        storage.withLock { storage in
            let index = Int(sample.tag)
            if sample.quality.hasValue {
                storage.states[index].sample = sample
                if let text {
                    storage.texts[index].removeAll(keepingCapacity: true)
                    storage.texts[index].append(contentsOf: text)
                }
            } else {
                storage.states[index].sample.quality = sample.quality
                storage.states[index].sample.timestamp = sample.timestamp
            }
            storage.states[index].gatewayTimestamp = gatewayTimestamp
        }
    }
}
