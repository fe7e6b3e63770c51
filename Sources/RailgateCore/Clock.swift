import CRailgatePlatform

/// Clocks used across Railgate: CLOCK_REALTIME for timestamps, CLOCK_MONOTONIC
/// for deadlines. Neither allocates.
public enum Clock {
    /// Wall-clock time in ns since the Unix epoch.
    @inlinable public static func realtimeNs() -> Int64 { rg_realtime_ns() }
    /// Monotonic time in ns, for deadlines and durations.
    @inlinable public static func monotonicNs() -> Int64 { rg_monotonic_ns() }
    /// Sleeps until an absolute monotonic deadline, so periodic work does not drift.
    @inlinable public static func sleep(untilMonotonicNs deadline: Int64) {
        rg_sleep_until_monotonic_ns(deadline)
    }
    /// Names the calling thread for `top -H` (≤ 15 characters are kept).
    public static func nameCurrentThread(_ name: String) {
        _ = rg_set_thread_name(name)
    }
}
