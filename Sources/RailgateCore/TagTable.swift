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
    private let states: Mutex<[TagState]>
    private let indexByPath: [String: Int]

    public init(tags: [Tag]) {
        self.tags = tags
        let initial = tags.indices.map { index in
            TagState(
                sample: Sample(tag: UInt32(index), quality: Quality(reason: .waitingForInitialData),
                               timestamp: 0, value: .zero),
                gatewayTimestamp: 0,
                text: tags[index].dataType == .string ? "" : nil)
        }
        states = Mutex(initial)
        indexByPath = Dictionary(tags.enumerated().map { ($1.path, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public var count: Int { tags.count }

    /// The state of tag `index`.
    public func state(_ index: Int) -> TagState {
        states.withLock { $0[index] }
    }

    /// A copy of all states, in tag order.
    public func snapshot() -> [TagState] {
        states.withLock { $0 }
    }

    /// Index of the tag with this path, or nil.
    public func index(ofPath path: String) -> Int? {
        indexByPath[path]
    }

    /// Engine side: stores a sample. A bad (not uncertain) sample keeps the last value and
    /// text, so readers see the last known value with its bad quality.
    func store(_ sample: Sample, gatewayTimestamp: Int64, text: String?) {
        states.withLock { states in
            let index = Int(sample.tag)
            if sample.quality.hasValue {
                states[index].sample = sample
                if let text { states[index].text = text }
            } else {
                states[index].sample.quality = sample.quality
                states[index].sample.timestamp = sample.timestamp
            }
            states[index].gatewayTimestamp = gatewayTimestamp
        }
    }
}
