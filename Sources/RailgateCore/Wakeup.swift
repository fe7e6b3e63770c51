import CRailgatePlatform
import Glibc

/// A counting semaphore (POSIX `sem_t`) for waking a waiting thread.
/// `signal` neither allocates nor blocks and may be called from the hot path.
public final class Wakeup: @unchecked Sendable {
    private let semaphore: UnsafeMutablePointer<sem_t>

    public init() {
        semaphore = .allocate(capacity: 1)
        sem_init(semaphore, 0, 0)
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    public func signal() { sem_post(semaphore) }

    /// Waits until signalled or until the absolute CLOCK_MONOTONIC deadline.
    /// Returns true when signalled; pending signals are collapsed into one.
    @discardableResult
    public func wait(untilMonotonicNs deadline: Int64) -> Bool {
        guard rg_sem_wait_until_monotonic_ns(semaphore, deadline) == 0 else { return false }
        while sem_trywait(semaphore) == 0 {}
        return true
    }

    /// Waits until signalled or until `timeoutNs` has passed.
    @discardableResult
    public func wait(timeoutNs: Int64) -> Bool {
        wait(untilMonotonicNs: Clock.monotonicNs() + timeoutNs)
    }
}
