import Glibc
import Logging
import RailgateConfig
import RailgateCore
import Synchronization

/// Counters of the history store.
public struct HistoryStats: Sendable, Equatable {
    public var stored = 0
    /// Values not stored: the engine's queue to the recorder was full, or a write failed.
    public var lost = 0
}

/// The history of the historized tags: one `HistoryFile` per tag in `history.dir`, filled by the
/// recorder thread (`rg-history`) from its own queue of the engine's changes, read by OPC UA
/// HistoryRead on its event loop.
///
/// The sampling side only pushes changes into a `ChangeQueue` (no allocation, no waiting); the
/// recorder writes each value with one pwrite and forces them to disk every
/// `fsync_interval_ms`. Disk use is bounded by construction: each file is a ring of its tag's
/// `max_values`, and `railgate check` refuses files that together exceed `max_mb`.
public final class HistoryStore: @unchecked Sendable {
    public let config: HistoryConfig
    /// What the engine pushes changes of historized tags into.
    public let queue: ChangeQueue
    private let files: [HistoryFile?]
    private let maxAges: [Int64?]
    private let kinds: [ValueKind]
    private let logger: Logger
    private let counters = Mutex(HistoryStats())
    private let started = Mutex(false)
    private let stopRequested = Mutex(false)
    private let stopped = Wakeup()

    /// Opens (or creates) the file of every historized tag.
    public init(config: HistoryConfig, tags: [Tag], historized: [HistorizedTag], logger: Logger) throws(HistoryError) {
        self.config = config
        self.logger = logger
        kinds = tags.map(\.kind)
        if mkdir(config.directory, 0o750) != 0 && errno != EEXIST {
            throw HistoryError(path: config.directory, message: String(cString: strerror(errno)))
        }
        var files: [HistoryFile?] = Array(repeating: nil, count: tags.count)
        var maxAges: [Int64?] = Array(repeating: nil, count: tags.count)
        for entry in historized where tags.indices.contains(entry.index) {
            files[entry.index] = try HistoryFile.open(path: Self.path(config.directory, tags[entry.index]),
                                                      capacity: entry.maxValues, logger: logger)
            maxAges[entry.index] = entry.maxAgeNs
        }
        self.files = files
        self.maxAges = maxAges
        queue = ChangeQueue(name: "history", tags: tags, accepting: files.map { $0 != nil })
    }

    /// The file of a tag: its path with `/` as `+` (names never hold `+`), `.rgh`.
    static func path(_ directory: String, _ tag: Tag) -> String {
        "\(directory)/\(tag.path.replacing("/", with: "+")).rgh"
    }

    /// Whether tag `index` keeps a history.
    public func has(_ index: Int) -> Bool { files.indices.contains(index) && files[index] != nil }

    func file(_ index: Int) -> HistoryFile? { files.indices.contains(index) ? files[index] : nil }

    func maxAgeNs(_ index: Int) -> Int64? { maxAges.indices.contains(index) ? maxAges[index] : nil }

    public var stats: HistoryStats {
        var stats = counters.withLock { $0 }
        stats.lost += queue.overruns + files.reduce(0) { $0 + ($1?.failedWrites.load(ordering: .relaxed) ?? 0) }
        return stats
    }

    /// `<dir>: N tag(s), stored=…, lost=…` for `show status` and the stop totals.
    public var summary: String {
        let stats = self.stats
        return "\(config.directory): \(files.lazy.filter { $0 != nil }.count) tag(s), stored=\(stats.stored) lost=\(stats.lost)"
    }

    /// Stores every change waiting in the queue; returns how many. Recorder thread (or a test).
    @discardableResult
    public func drain(nowNs: Int64 = Clock.realtimeNs()) -> Int {
        var count = 0
        queue.drain { change in
            let index = Int(change.sample.tag)
            guard let file = file(index) else { return }
            file.append(HistoryRecord(seq: 0, sourceNs: change.sample.timestamp, serverNs: nowNs,
                                      value: change.sample.value, quality: change.sample.quality, kind: kinds[index]))
            count += 1
        }
        if count > 0 {
            counters.withLock { $0.stored += count }
        }
        return count
    }

    /// Forces what was stored to disk.
    public func sync() {
        for file in files { file?.sync() }
    }

    /// Starts the recorder thread.
    public func start() {
        guard !started.withLock({ let was = $0; $0 = true; return was }) else { return }
        OSThread.start { [self] in run() }
    }

    private func run() {
        Clock.nameCurrentThread("rg-history")
        let intervalNs = Int64(config.syncIntervalMs) * 1_000_000
        var nextSync = Clock.monotonicNs() + intervalNs
        let failures = LogThrottle()
        var failed = 0
        while !stopRequested.withLock({ $0 }) {
            queue.wakeup.wait(timeoutNs: 200_000_000)
            drain()
            if Clock.monotonicNs() >= nextSync {
                sync()
                nextSync = Clock.monotonicNs() + intervalNs
                let lost = stats.lost
                if lost > failed, let suppressed = failures.admit() {
                    logger.error("history values lost (queue full or disk write failed)", metadata: [
                        "lost": "\(lost)", "suppressed": "\(suppressed)"])
                    failed = lost
                }
            }
        }
        drain()
        sync()
        stopped.signal()
    }

    /// Stores what is queued, forces it to disk and stops the recorder.
    public func stop() {
        guard started.withLock({ $0 }), !stopRequested.withLock({ let was = $0; $0 = true; return was }) else { return }
        queue.wakeup.signal()
        stopped.wait(timeoutNs: 5_000_000_000)
    }
}
