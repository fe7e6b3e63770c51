import Synchronization

/// What an alarm watches for (OPC UA Part 9 §5.8): limits on an analog value, or a discrete
/// value away from its normal values.
public enum AlarmKind: Sendable, Equatable {
    /// ExclusiveLimitAlarmType: the value is above HighHigh or High, or below Low or LowLow (each
    /// limit optional); `deadband` is the hysteresis a value must cross back before a limit clears.
    case limit(highHigh: Double?, high: Double?, low: Double?, lowLow: Double?, deadband: Double)
    /// OffNormalAlarmType: active while the value is none of `normal`.
    case offNormal(normal: [Double])
}

/// One configured alarm on one tag.
public struct AlarmDefinition: Sendable, Equatable {
    public var name: String
    /// The tag's gateway index.
    public var tag: Int
    /// The gateway index of the alarm's own state tag (`AlarmEngine.stateCodes`), if it has one.
    public var output: Int?
    public var kind: AlarmKind
    /// 1 … 1000 (OPC UA severity).
    public var severity: UInt16
    public var message: String

    public init(name: String, tag: Int, output: Int? = nil, kind: AlarmKind, severity: UInt16, message: String) {
        self.name = name
        self.tag = tag
        self.output = output
        self.kind = kind
        self.severity = severity
        self.message = message
    }

    public var isLimit: Bool {
        if case .limit = kind { return true }
        return false
    }
}

/// The exclusive limit state of a limit alarm (Part 9 §5.8.12 ExclusiveLimitStateMachineType).
public enum LimitState: UInt8, Sendable, CustomStringConvertible {
    case normal, high, highHigh, low, lowLow

    public var description: String {
        switch self {
        case .normal: "Normal"
        case .high: "High"
        case .highHigh: "HighHigh"
        case .low: "Low"
        case .lowLow: "LowLow"
        }
    }

    /// How far from normal: HighHigh and LowLow 2, High and Low 1.
    var level: Int {
        switch self {
        case .normal: 0
        case .high, .low: 1
        case .highHigh, .lowLow: 2
        }
    }
}

/// The state of one alarm condition (Part 9 §5.5, §5.7): active (and at which limit), whether an
/// operator acknowledged it, whether clients must keep it (`retain`: active or unacknowledged).
public struct AlarmState: Sendable, Equatable {
    public init() {}

    public var active = false
    public var limit = LimitState.normal
    public var acknowledged = true
    /// The value that last changed the state, and its quality.
    public var value = 0.0
    public var quality = Quality(reason: .waitingForInitialData)
    /// CLOCK_REALTIME ns of the last transition (activation, clearing, quality, acknowledgment, comment).
    public var changedNs: Int64 = 0
    public var comment = ""
    /// Who acknowledged or commented last.
    public var user = ""

    /// Clients keep a condition while it is active or not yet acknowledged.
    public var retain: Bool { active || !acknowledged }
}

/// Why an alarm's state changed.
public enum AlarmTransition: Sendable, Equatable {
    /// Became active, moved to another limit, or cleared.
    case state
    /// Its value's quality changed (the alarm keeps its state).
    case quality
    case acknowledged
    case commented
}

/// A change of an alarm's state for the OPC UA server's condition events.
public struct AlarmEvent: Sendable {
    public var alarm: Int
    public var transition: AlarmTransition
    public var state: AlarmState
}

/// Evaluates the configured alarms on every sample of their tags and keeps their states. On the
/// engine thread for `observe`; acknowledgments and comments come from the OPC UA server's
/// thread, so states are read and changed under a lock.
///
/// Each alarm may have a state tag (`AlarmDefinition.output`) that the engine publishes like any
/// tag (MQTT, OPC UA, history): its code (`stateCodes`) says the limit and whether it waits for
/// acknowledgment. State changes also go to a bounded queue of `AlarmEvent`s that the OPC UA
/// server takes; the sampling side allocates nothing for either.
public final class AlarmEngine: @unchecked Sendable {
    public let definitions: [AlarmDefinition]
    /// Per gateway tag: its alarms' indices.
    private let byTag: [Int: [Int]]

    private struct Shared {
        var states: [AlarmState]
        /// The code last published on each alarm's state tag (engine thread).
        var published: [Int64]
        /// A ring of state changes not taken yet.
        var events: [AlarmEvent]
        var head = 0
        var queued = 0
        var lost = 0
        /// An acknowledgment changed a state code that the engine has not published yet.
        var unpublished = false
    }

    private let shared: Mutex<Shared>
    /// What the engine thread waits on: an acknowledgment wakes it to publish the new code.
    private let wakeup: Wakeup?

    /// State changes kept for the OPC UA server between two of its takes.
    public static let eventCapacity = 1024

    public init(definitions: [AlarmDefinition], wakeup: Wakeup? = nil) {
        self.definitions = definitions
        self.wakeup = wakeup
        var byTag: [Int: [Int]] = [:]
        for (index, definition) in definitions.enumerated() { byTag[definition.tag, default: []].append(index) }
        self.byTag = byTag
        let blank = AlarmEvent(alarm: 0, transition: .state, state: AlarmState())
        shared = Mutex(Shared(states: Array(repeating: AlarmState(), count: definitions.count),
                              published: Array(repeating: -1, count: definitions.count),
                              events: Array(repeating: blank, count: Self.eventCapacity)))
    }

    public func watches(_ tag: Int) -> Bool { byTag[tag] != nil }

    /// A copy of one alarm's state.
    public func state(_ alarm: Int) -> AlarmState? {
        shared.withLock { $0.states.indices.contains(alarm) ? $0.states[alarm] : nil }
    }

    /// Copies of every alarm's state.
    public func states() -> [AlarmState] { shared.withLock { $0.states } }

    /// Takes over the states of another engine's alarms of the same name and kind (a commit
    /// replaces the engine; an alarm waiting for acknowledgment keeps waiting).
    public func restore(from other: AlarmEngine?) {
        guard let other else { return }
        let old = other.states()
        var byName: [String: Int] = [:]
        for (index, definition) in other.definitions.enumerated() { byName[definition.name] = index }
        shared.withLock { shared in
            for (index, definition) in definitions.enumerated() {
                guard let previous = byName[definition.name], other.definitions[previous].kind == definition.kind,
                      old.indices.contains(previous) else { continue }
                shared.states[index] = old[previous]
            }
        }
    }

    /// State changes since the last take, oldest first, and how many were lost to a full queue.
    public func takeEvents() -> (events: [AlarmEvent], lost: Int) {
        shared.withLock { shared in
            var taken: [AlarmEvent] = []
            taken.reserveCapacity(shared.queued)
            let capacity = shared.events.count
            for offset in 0..<shared.queued {
                taken.append(shared.events[(shared.head + capacity - shared.queued + offset) % capacity])
            }
            let lost = shared.lost
            shared.queued = 0
            shared.lost = 0
            return (taken, lost)
        }
    }

    /// The code of an alarm's state tag: 0 Normal, 2 High, 4 HighHigh, 6 Low, 8 LowLow,
    /// 10 OffNormal; one more while it waits for acknowledgment.
    public static func code(_ state: AlarmState, offNormal: Bool) -> Int64 {
        let base: Int64 = state.active ? (offNormal ? 10 : Int64(state.limit.rawValue) * 2) : 0
        return base + (state.acknowledged ? 0 : 1)
    }

    /// The texts of the state tag's codes.
    public static let stateCodes: CodeMap = {
        var entries: [(value: Int64, code: String)] = []
        for (number, name) in ["Normal", "High", "HighHigh", "Low", "LowLow", "OffNormal"].enumerated() {
            entries.append((Int64(number * 2), name))
            entries.append((Int64(number * 2 + 1), "\(name) (unacknowledged)"))
        }
        return CodeMap(name: "alarm_state", entries: entries)
    }()

    /// The sample of an alarm's state tag for a state (its tag's quality, the code as value).
    private func stateSample(_ alarm: Int, _ state: AlarmState, now: Int64) -> Sample? {
        guard let output = definitions[alarm].output else { return nil }
        let offNormal = !definitions[alarm].isLimit
        return Sample(tag: UInt32(truncatingIfNeeded: output), quality: state.quality, timestamp: now,
                      value: SampleValue(uint: UInt64(Self.code(state, offNormal: offNormal))))
    }

    /// Publishes the state codes that acknowledgments changed (engine thread): calls `emit` with
    /// the state tag's sample of each. Allocates nothing.
    public func publishAcknowledgments(now: Int64, emit: (Sample) -> Void) {
        let due = shared.withLock { shared in
            defer { shared.unpublished = false }
            return shared.unpublished
        }
        guard due else { return }
        for alarm in definitions.indices {
            let sample: Sample? = shared.withLock { shared in
                let state = shared.states[alarm]
                let code = Self.code(state, offNormal: !definitions[alarm].isLimit)
                // Published once evaluated (-1 before): the first sample of its tag publishes it.
                guard shared.published[alarm] >= 0, code != shared.published[alarm] else { return nil }
                shared.published[alarm] = code
                return stateSample(alarm, state, now: now)
            }
            if let sample { emit(sample) }
        }
    }

    /// Takes a sample of a watched tag: evaluates its alarms, queues their state changes for
    /// `takeEvents`, and calls `publish` with the sample of each alarm's state tag whose code or
    /// quality changed (or that was never published). Allocates nothing.
    public func observe(_ tag: Int, _ sample: Sample, kind: ValueKind, now: Int64, publish: (Sample) -> Void) {
        guard let alarms = byTag[tag] else { return }
        for alarm in alarms {
            let output: Sample? = shared.withLock { shared in
                var state = shared.states[alarm]
                var transition: AlarmTransition?
                if sample.quality != state.quality {
                    // The first value of a tag is no change of its alarm's quality.
                    if state.quality.reason != .waitingForInitialData {
                        transition = .quality
                        state.changedNs = now
                    }
                    state.quality = sample.quality
                }
                if sample.quality.hasValue {
                    let value = sample.value.numeric(kind)
                    let (active, limit) = Self.evaluate(definitions[alarm].kind, value: value, current: state.limit,
                                                        wasActive: state.active)
                    if active != state.active || limit != state.limit {
                        // A new activation, or a move to a farther limit, asks for a new acknowledgment.
                        if active && (!state.active || limit.level > state.limit.level) { state.acknowledged = false }
                        state.active = active
                        state.limit = limit
                        state.value = value
                        state.changedNs = now
                        transition = .state
                    }
                }
                let qualityChanged = shared.states[alarm].quality != state.quality
                shared.states[alarm] = state
                if let transition {
                    let capacity = shared.events.count
                    shared.events[shared.head] = AlarmEvent(alarm: alarm, transition: transition, state: state)
                    shared.head = (shared.head + 1) % capacity
                    if shared.queued == capacity { shared.lost += 1 } else { shared.queued += 1 }
                }
                let code = Self.code(state, offNormal: !definitions[alarm].isLimit)
                guard transition != nil || qualityChanged || shared.published[alarm] != code else { return nil }
                shared.published[alarm] = code
                return stateSample(alarm, state, now: now)
            }
            if let output { publish(output) }
        }
    }

    /// The active flag and limit state of a value, with hysteresis: a limit the alarm is at now
    /// clears only when the value is `deadband` back inside it.
    static func evaluate(_ kind: AlarmKind, value: Double, current: LimitState, wasActive: Bool) -> (Bool, LimitState) {
        switch kind {
        case .offNormal(let normal):
            return (!normal.contains(value), .normal)
        case .limit(let highHigh, let high, let low, let lowLow, let deadband):
            guard !value.isNaN else { return (wasActive, current) }
            // A limit the alarm is at (or beyond, on the same side) holds until the value is back
            // `deadband` inside it; a limit it is not at is crossed at the limit itself.
            func above(_ limit: Double?, holding: Bool) -> Bool {
                guard let limit else { return false }
                return value > (holding ? limit - deadband : limit)
            }
            func below(_ limit: Double?, holding: Bool) -> Bool {
                guard let limit else { return false }
                return value < (holding ? limit + deadband : limit)
            }
            if above(highHigh, holding: current == .highHigh) { return (true, .highHigh) }
            if above(high, holding: current == .high || current == .highHigh) { return (true, .high) }
            if below(lowLow, holding: current == .lowLow) { return (true, .lowLow) }
            if below(low, holding: current == .low || current == .lowLow) { return (true, .low) }
            return (false, .normal)
        }
    }

    /// Acknowledges an alarm (Part 9 §5.7.3 Acknowledge): nil when done, else why not.
    public func acknowledge(_ alarm: Int, user: String, comment: String, now: Int64) -> (String?, AlarmState?) {
        let result: (String?, AlarmState?) = shared.withLock { shared in
            guard shared.states.indices.contains(alarm) else { return ("no such alarm", nil) }
            guard !shared.states[alarm].acknowledged else { return ("already acknowledged", shared.states[alarm]) }
            shared.states[alarm].acknowledged = true
            shared.states[alarm].user = user
            if !comment.isEmpty { shared.states[alarm].comment = comment }
            shared.states[alarm].changedNs = now
            shared.unpublished = true
            return (nil, shared.states[alarm])
        }
        if result.0 == nil { wakeup?.signal() }
        return result
    }

    /// Adds a comment to an alarm (Part 9 §5.5.5 AddComment).
    public func comment(_ alarm: Int, user: String, text: String, now: Int64) -> AlarmState? {
        shared.withLock { shared in
            guard shared.states.indices.contains(alarm) else { return nil }
            shared.states[alarm].comment = text
            shared.states[alarm].user = user
            shared.states[alarm].changedNs = now
            return shared.states[alarm]
        }
    }
}
