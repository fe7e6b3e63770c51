import Synchronization

/// The OS thread of one south bus or line: started once with a name
/// (`rg-s-<bus>`), stopped by clearing `isRunning` and signalling `wakeup`,
/// which the thread also waits on between cycles.
public final class SouthThread: Sendable {
    private let running = Atomic<Bool>(false)
    private let finished = Wakeup()
    /// Signalled to end a wait early: a stop, or work queued for the thread.
    public let wakeup = Wakeup()

    public init() {}

    public var isRunning: Bool { running.load(ordering: .acquiring) }

    // Liveness for the service watchdog: when the thread last showed
    // progress, and whether it is waiting (a wait is not a stall).
    private let lastBeat = Atomic<Int64>(0)
    private let waiting = Atomic<Bool>(true)

    /// Records progress. Cheap (one atomic store); call between requests.
    @inline(__always)
    public func beat() { lastBeat.store(Clock.monotonicNs(), ordering: .relaxed) }

    /// Waits for the deadline or `wakeup`, counted as idle, not stalled.
    public func wait(untilMonotonicNs deadline: Int64) {
        waiting.store(true, ordering: .relaxed)
        wakeup.wait(untilMonotonicNs: deadline)
        waiting.store(false, ordering: .relaxed)
        beat()
    }

    /// True when the thread runs, is not waiting, and has shown no progress
    /// for `limitNs`: a request that never returns, a loop that never yields.
    public func isStalled(limitNs: Int64) -> Bool {
        isRunning && !waiting.load(ordering: .relaxed)
            && Clock.monotonicNs() - lastBeat.load(ordering: .relaxed) > limitNs
    }

    /// Starts `body` on a new thread named `name` (512 KiB stack). A second start does nothing.
    public func start(name: String, _ body: @escaping @Sendable () -> Void) {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let finished = self.finished
        beat()
        waiting.store(false, ordering: .relaxed)
        // The body (and the bus it holds) is let go before `stop` returns: the thread keeps its
        // closure until it has ended, after the signal.
        let work = WorkOnce(body)
        let started = OSThread.start(name: name, stackSize: 512 * 1024) {
            work.run()
            finished.signal()
        }
        if !started {
            // No thread to be had (the system's limit): the bus stays stopped, as after `stop`
            // (which then has nothing to wait for), and a later `start` may try again.
            running.store(false, ordering: .releasing)
        }
    }

    /// Asks the thread to end and waits up to `timeoutNs` for it.
    public func stop(timeoutNs: Int64) {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        wakeup.signal()
        finished.wait(timeoutNs: timeoutNs)
    }
}

/// A closure run once and released as soon as it returns.
private final class WorkOnce: Sendable {
    private let body: Mutex<(@Sendable () -> Void)?>

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = Mutex(body)
    }

    func run() {
        guard let body = body.withLock({ $0.take() }) else { return }
        body()
    }
}
