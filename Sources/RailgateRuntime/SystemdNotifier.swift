import FoundationEssentials
import Glibc
import Logging
import RailgateCore
import Synchronization

/// systemd's service notification protocol (sd_notify(3)): newline-separated
/// assignments in one datagram to the socket named by $NOTIFY_SOCKET. Outside
/// systemd (no variable) every call does nothing.
public final class SystemdNotifier: @unchecked Sendable {
    private let fd: Int32
    private let address: UnixSocketAddress?
    /// Half of WATCHDOG_USEC: how often the watchdog wants to hear from us.
    public let watchdogIntervalNs: Int64?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        address = UnixSocketAddress(environment["NOTIFY_SOCKET"] ?? "")
        fd = address == nil ? -1 : socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        // WATCHDOG_PID, when set, names the process the watchdog is meant for.
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0 {
            watchdogIntervalNs = usec * 1000
        } else {
            watchdogIntervalNs = nil
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    public var isActive: Bool { fd >= 0 }

    /// Sends `READY=1`, `STATUS=…`, `WATCHDOG=1`, `STOPPING=1` and the like.
    public func notify(_ assignments: String) {
        guard fd >= 0, let address else { return }
        let bytes = Array(assignments.utf8)
        _ = address.withSockaddr { target, length in
            bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), target, length) }
        }
    }
}

/// Feeds systemd's watchdog from the sampling core: `WATCHDOG=1` goes out
/// only while the engine loop comes round and no south thread is stuck in
/// one request or cycle, so a stalled core gets the service restarted. The
/// status line (`systemctl status`) is refreshed at the same time.
public final class ServiceWatchdog: @unchecked Sendable {
    let notifier: SystemdNotifier
    let host: GatewayHost
    /// What the status line starts with: `running`, or that the last good configuration runs.
    let mode: String
    let logger = Logger(label: "railgate.watchdog")
    private let stop = Wakeup()
    private let stopping = Atomic<Bool>(false)

    public init(notifier: SystemdNotifier, host: GatewayHost, mode: String) {
        self.notifier = notifier
        self.host = host
        self.mode = mode
    }

    public func start() {
        guard notifier.isActive else { return }
        OSThread.start(name: "rg-watchdog") { [self] in run() }
    }

    public func finish() {
        stopping.store(true, ordering: .releasing)
        stop.signal()
    }

    private func run() {
        // Feed twice per watchdog period; refresh the status every 5 s when there is no watchdog.
        let periodNs = notifier.watchdogIntervalNs.map { $0 / 2 } ?? 5_000_000_000
        let limitNs = notifier.watchdogIntervalNs.map { $0 / 2 } ?? .max
        var stalledReported = false
        var lastStatus = ""
        while true {
            if !stopping.load(ordering: .acquiring) { stop.wait(timeoutNs: periodNs) }
            if stopping.load(ordering: .acquiring) { return }
            let gateway = host.current
            // The mode stays in front: an operator must go on seeing that the last good configuration runs.
            let status = "\(mode): \(gateway.statusSummary())"
            if status != lastStatus {
                notifier.notify("STATUS=\(status)")
                lastStatus = status
            }
            guard notifier.watchdogIntervalNs != nil else { continue }
            if let stalled = gateway.stalledPart(limitNs: limitNs) {
                if !stalledReported {
                    logger.critical("sampling core stalled; no longer feeding the systemd watchdog, which restarts the service",
                                    metadata: ["part": "\(stalled)"])
                    stalledReported = true
                }
            } else {
                notifier.notify("WATCHDOG=1")
                stalledReported = false
            }
        }
    }
}
