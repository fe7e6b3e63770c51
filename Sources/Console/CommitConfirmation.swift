import FoundationEssentials

/// `commit confirmed` as a state machine without I/O: a commit, a `confirm` or a timer comes in,
/// what to do goes out. `ConfigStore` drives it (files, the gateway, the timer, the audit trail).
///
/// A commit with a time limit arms a timer; `confirm`, or a later commit without a limit, keeps
/// the new configuration; a timer that fires for the commit still waiting rolls back to the
/// configuration from before the first unconfirmed commit (a second `commit confirmed` keeps
/// that one, not its own predecessor). A timer of a commit that was confirmed or superseded does
/// nothing.
public struct CommitConfirmation: Sendable, Equatable {
    /// A `commit confirmed` waiting for `confirm`.
    public struct Pending: Sendable, Equatable {
        /// Which commit armed the timer that can roll it back.
        public var generation: Int
        /// The configuration text to go back to.
        public var restore: String
        public var user: String
        public var deadline: Date
    }

    public enum Event: Sendable, Equatable {
        /// A commit was applied; `previous` is the text it replaced; `confirmWithin` its limit, if any (s).
        case committed(previous: String, user: String, confirmWithin: Double?, now: Date)
        case confirm
        /// The timer armed for commit `generation` fired.
        case timerFired(generation: Int)
    }

    public enum Action: Sendable, Equatable {
        /// Nothing to do.
        case none
        /// Fire `.timerFired(generation)` after `seconds`.
        case armTimer(generation: Int, seconds: Double)
        /// A plain commit kept the configuration of the waiting `commit confirmed`.
        case supersededPending
        /// `confirm` kept the configuration.
        case confirmed
        case nothingToConfirm
        /// Apply `text` again: the commit of `user` was not confirmed in time.
        case rollBack(text: String, user: String)
    }

    public private(set) var pending: Pending?
    private var generation = 0

    public init() {}

    public mutating func handle(_ event: Event) -> Action {
        switch event {
        case .committed(let previous, let user, let limit?, let now):
            generation += 1
            pending = Pending(generation: generation, restore: pending?.restore ?? previous, user: user,
                              deadline: now.addingTimeInterval(limit))
            return .armTimer(generation: generation, seconds: limit)
        case .committed(_, _, nil, _):
            guard pending != nil else { return .none }
            pending = nil
            return .supersededPending
        case .confirm:
            guard pending != nil else { return .nothingToConfirm }
            pending = nil
            return .confirmed
        case .timerFired(let number):
            guard let waiting = pending, waiting.generation == number else { return .none }
            pending = nil
            return .rollBack(text: waiting.restore, user: waiting.user)
        }
    }
}
