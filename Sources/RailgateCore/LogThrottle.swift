import Synchronization

/// Bounds how often one kind of event is logged: at most `burst` lines per
/// `intervalNs`; the lines left out are counted and the next line let through
/// says how many. A peer that sends garbage a thousand times a second gets a
/// few lines a minute, not a full disk.
public final class LogThrottle: Sendable {
    private struct Window {
        var start: Int64 = 0
        var logged = 0
        var suppressed = 0
    }

    public let burst: Int
    public let intervalNs: Int64
    private let window = Mutex(Window())

    public init(burst: Int = 10, intervalNs: Int64 = 60_000_000_000) {
        self.burst = burst
        self.intervalNs = intervalNs
    }

    /// nil when this line is to be left out; otherwise how many were left out before it.
    public func admit(nowNs: Int64 = Clock.monotonicNs()) -> Int? {
        window.withLock { window in
            if nowNs - window.start >= intervalNs {
                window.start = nowNs
                window.logged = 0
            }
            guard window.logged < burst else {
                window.suppressed += 1
                return nil
            }
            window.logged += 1
            defer { window.suppressed = 0 }
            return window.suppressed
        }
    }
}
