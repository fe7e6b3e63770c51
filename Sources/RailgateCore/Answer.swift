import Synchronization

/// A result another thread delivers once, for a thread that may block on it
/// (the console, tests): `deliver` from the completion, `wait` on the caller.
public final class Answer<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    private let done = Wakeup()

    public init() {}

    public func deliver(_ result: Value) {
        value.withLock { $0 = result }
        done.signal()
    }

    /// The delivered value, or nil when none arrived within `timeoutNs`.
    public func wait(timeoutNs: Int64) -> Value? {
        done.wait(timeoutNs: timeoutNs)
        return value.withLock { $0 }
    }
}
