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
    public var kind: AlarmKind
    /// 1 … 1000 (OPC UA severity).
    public var severity: UInt16
    public var message: String

    public init(name: String, tag: Int, kind: AlarmKind, severity: UInt16, message: String) {
        self.name = name
        self.tag = tag
        self.kind = kind
        self.severity = severity
        self.message = message
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
    public var active = false
    public var limit = LimitState.normal
    public var acknowledged = true
    /// The value that last changed the state, and its quality.
    public var value = 0.0
    public var quality = Quality(reason: .waitingForInitialData)
    /// CLOCK_REALTIME ns of the last transition (activation, clearing, acknowledgment, comment).
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

/// Evaluates the configured alarms on every sample of their tags and keeps their states. On the
/// engine thread for `observe`; acknowledgments and comments come from the OPC UA server's
/// thread, so states are read and changed under a lock.
public final class AlarmEngine: @unchecked Sendable {
    public let definitions: [AlarmDefinition]
    /// Per gateway tag: its alarms' indices.
    private let byTag: [Int: [Int]]
    private let states: Mutex<[AlarmState]>

    public init(definitions: [AlarmDefinition]) {
        self.definitions = definitions
        var byTag: [Int: [Int]] = [:]
        for (index, definition) in definitions.enumerated() { byTag[definition.tag, default: []].append(index) }
        self.byTag = byTag
        states = Mutex(Array(repeating: AlarmState(), count: definitions.count))
    }

    public func watches(_ tag: Int) -> Bool { byTag[tag] != nil }

    /// A copy of one alarm's state.
    public func state(_ alarm: Int) -> AlarmState? {
        states.withLock { $0.indices.contains(alarm) ? $0[alarm] : nil }
    }

    /// Takes a sample of a watched tag; calls `changed` for each alarm whose state changed.
    public func observe(_ tag: Int, _ sample: Sample, kind: ValueKind, now: Int64,
                        changed: (Int, AlarmTransition, AlarmState) -> Void) {
        guard let alarms = byTag[tag] else { return }
        for alarm in alarms {
            var transition: AlarmTransition?
            let updated: AlarmState = states.withLock { states in
                var state = states[alarm]
                if sample.quality != state.quality {
                    state.quality = sample.quality
                    transition = .quality
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
                states[alarm] = state
                return state
            }
            if let transition { changed(alarm, transition, updated) }
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
        states.withLock { states in
            guard states.indices.contains(alarm) else { return ("no such alarm", nil) }
            guard !states[alarm].acknowledged else { return ("already acknowledged", states[alarm]) }
            states[alarm].acknowledged = true
            states[alarm].user = user
            if !comment.isEmpty { states[alarm].comment = comment }
            states[alarm].changedNs = now
            return (nil, states[alarm])
        }
    }

    /// Adds a comment to an alarm (Part 9 §5.5.5 AddComment).
    public func comment(_ alarm: Int, user: String, text: String, now: Int64) -> AlarmState? {
        states.withLock { states in
            guard states.indices.contains(alarm) else { return nil }
            states[alarm].comment = text
            states[alarm].user = user
            states[alarm].changedNs = now
            return states[alarm]
        }
    }
}
