import Foundation
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

    /// Starts `body` on a new thread named `name` (512 KiB stack). A second start does nothing.
    public func start(name: String, _ body: @escaping @Sendable () -> Void) {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let finished = self.finished
        let thread = Thread {
            Clock.nameCurrentThread(name)
            body()
            finished.signal()
        }
        thread.stackSize = 512 * 1024
        thread.start()
    }

    /// Asks the thread to end and waits up to `timeoutNs` for it.
    public func stop(timeoutNs: Int64) {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        wakeup.signal()
        finished.wait(timeoutNs: timeoutNs)
    }
}
