import FoundationEssentials
import Logging
import RailgateConfig
import RailgateCore
import Synchronization

/// One MQTT message a format hands over whole: a will, a goodbye.
struct NorthMessage {
    var topic: String
    var payload: [UInt8]
    var qos: Int
    var retain: Bool
}

/// What a format decided at the start of a turn of the publishing thread.
struct NorthTurn: Equatable {
    /// Changes may go out now: connected, and (Sparkplug) the primary host is online.
    var mayPublish: Bool
    /// A session begins whose first messages carry every tag's current value (Sparkplug's
    /// births; JSON's retained values when there is no journal): the changes queued until
    /// now are older than that state and are not sent.
    var sendsState: Bool
}

/// A payload format on the north connection: JSON on a topic per tag (`JSONFormat`) or a
/// Sparkplug B edge node (`SparkplugEdgeNode`). `MQTTNorthLink` keeps the connection, the
/// publishing thread, the journal and the counters; a format says what goes out.
protocol MQTTNorthFormat: AnyObject, Sendable {
    /// `mqtt` (JSON) or `sparkplug`: the name of the engine's queue and of the status line.
    var name: String { get }
    /// The MQTT will of the next connection.
    func will() -> NorthMessage
    /// libmosquitto's thread: the connection came up (`connected`) or went (`code` 0: asked to).
    func connectionChanged(_ connected: Bool, code: Int32, link: MQTTNorthLink)
    /// libmosquitto's thread: a message on a topic the format subscribed to.
    func received(topic: String, payload: [UInt8], link: MQTTNorthLink)
    /// The publishing thread, first in each turn: a new session, commands waiting.
    func beginTurn(_ link: MQTTNorthLink) -> NorthTurn
    /// Every tag's current value, when `beginTurn` said a session with state begins.
    func sendState(_ link: MQTTNorthLink)
    /// Changes from the engine, in order; `tracked`: the link waits for their acknowledgement
    /// before it marks them delivered in the journal.
    func publishChanges(_ changes: [Change], tracked: Bool, link: MQTTNorthLink)
    /// Journaled changes of tags the configuration still has, oldest first (tracked).
    func publishHistory(_ changes: [Change], link: MQTTNorthLink)
    /// Published at a clean stop, in place of the will.
    func goodbye() -> NorthMessage
    /// The format's own counters, after the link's.
    var counters: [StatusCounter] { get }
}

/// The north MQTT connection, whatever the payload format: libmosquitto runs the network I/O
/// and reconnects; the publishing thread (`rg-mqtt`) drains the engine's `ChangeQueue`, writes
/// changes ahead to the journal when one is configured, and lets the format publish them.
///
/// With a journal, a change is marked delivered only once the broker acknowledged it (QoS 1),
/// so neither an outage nor a crash with messages in flight loses any: while older changes
/// wait, new ones queue behind them, and after a reconnect the journal is replayed in order, a
/// batch at a time. Without one, changes made while the broker is away are counted
/// (`droppedOffline`) and the format's state at the next session carries the current values.
public final class MQTTNorthLink: @unchecked Sendable, MQTTSink {
    public let config: MQTTConfig
    public let queue: ChangeQueue
    let table: TagTable
    let logger: Logger
    private let format: any MQTTNorthFormat
    private var client: MosquittoClient!
    /// False when the connection cannot be set up (bad TLS files): no connect attempts.
    private var usable = true
    /// Publishing thread only.
    private var failover: BrokerFailover
    /// The brokers, and the one in use (for `status()`, from any thread).
    private let endpoints: [BrokerEndpoint]
    private let broker = Atomic<Int>(0)
    /// Store-and-forward journal (publishing thread only); nil when not configured or unusable.
    private let journal: Journal?

    private let running = Atomic<Bool>(false)
    private let finished = Wakeup()
    private let counts = Mutex(Counts())
    /// The array each turn drains the queue into, kept for the next turn (publishing thread only).
    private let drained = Mutex<[Change]>([])

    private struct Counts {
        var published = 0
        /// Publications the client refused (e.g. oversize), journal appends that failed.
        var failed = 0
        /// Changes not sent because the broker (or the primary host) was away.
        var droppedOffline = 0
    }

    /// Journaled changes sent per turn after a reconnect.
    static let replayBatchSize = 500

    init(config: MQTTConfig, table: TagTable, format: any MQTTNorthFormat, logger: Logger) throws {
        self.config = config
        self.table = table
        self.format = format
        self.logger = logger
        queue = ChangeQueue(name: format.name, tags: table.tags)
        failover = BrokerFailover(config)
        endpoints = failover.endpoints
        journal = config.journal.flatMap { Self.openJournal($0, logger: logger) }
        client = try MosquittoClient(
            clientID: config.clientID, cleanSession: config.cleanSession,
            onStateChange: { [weak self] connected, code in
                guard let self else { return }
                self.format.connectionChanged(connected, code: code, link: self)
                // The next session's will (Sparkplug: its bdSeq).
                if !connected { try? self.setWill() }
                self.queue.wakeup.signal()
            },
            onMessage: { [weak self] topic, payload in
                guard let self else { return }
                self.format.received(topic: topic, payload: payload, link: self)
                self.queue.wakeup.signal()
            })
        usable = try client.configure(config, logger: logger)
        try setWill()
    }

    /// Opens the journal; an unusable directory is reported and the gateway
    /// runs on without one rather than not at all.
    static func openJournal(_ config: JournalConfig, logger: Logger) -> Journal? {
        let sync: JournalSync = switch config.sync {
        case .always: .always
        case .interval(let ms): .interval(ms: ms)
        case .never: .never
        }
        do {
            let journal = try Journal(directory: config.directory, maxBytes: config.maxBytes,
                                      segmentBytes: config.segmentBytes, sync: sync, logger: logger)
            logger.info("journal open", metadata: ["dir": "\(config.directory)", "bytes": "\(journal.sizeBytes)",
                                                   "pending": "\(journal.isEmpty ? "none" : "yes")"])
            return journal
        } catch {
            logger.error("journal unusable; changes are kept in memory only", metadata: ["error": "\(error)"])
            return nil
        }
    }

    public func status() -> NorthStatus {
        let counts = counts.withLock { $0 }
        let endpoint = endpoints[broker.load(ordering: .relaxed)]
        return NorthStatus(
            name: format.name, broker: "\(endpoint.host):\(endpoint.port)", connected: client.isConnected,
            counters: [StatusCounter("published", counts.published), StatusCounter("failed", counts.failed),
                       StatusCounter("droppedOffline", counts.droppedOffline)]
                + format.counters + [StatusCounter("queueOverruns", queue.overruns)])
    }

    /// Connects in the background and starts the publishing thread.
    public func start() throws {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if usable { try client.start(config) }
        OSThread.start(name: "rg-mqtt") { [self] in
            while running.load(ordering: .acquiring) {
                queue.wakeup.wait(timeoutNs: 500_000_000)
                if usable {
                    client.failoverIfDue(&failover, keepalive: config.keepaliveSeconds, logger: logger)
                    broker.store(failover.current, ordering: .relaxed)
                }
                turn()
            }
            turn()
            finished.signal()
        }
    }

    /// Publishes what is queued, says goodbye (status `offline`, NDEATH) and disconnects.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        queue.wakeup.signal()
        finished.wait(timeoutNs: 5_000_000_000)
        journal?.flush()
        if client.isConnected {
            let message = format.goodbye()
            publish(message.topic, message.payload, qos: message.qos, retain: message.retain)
        }
        if usable { client.stop() }
    }

    // MARK: Publishing thread

    private func turn() {
        let turn = format.beginTurn(self)
        guard turn.mayPublish, client.isConnected else { return hold() }
        if turn.sendsState {
            queue.discard()
            format.sendState(self)
        }
        var changes = drained.withLock { changes in
            defer { changes = [] }
            return changes
        }
        changes.removeAll(keepingCapacity: true)
        queue.drain { changes.append($0) }
        defer {
            // Its buffer serves the next turn; its changes (and their texts) go now.
            changes.removeAll(keepingCapacity: true)
            drained.withLock { $0 = changes }
        }
        guard let journal else {
            if !changes.isEmpty { format.publishChanges(changes, tracked: false, link: self) }
            return
        }
        let caughtUp = journal.isEmpty
        if !changes.isEmpty {
            guard keep(changes.map { JournalRecord($0, table: table) }, in: journal) else { return }
        }
        guard !journal.isEmpty else { return }
        if caughtUp {
            // The common case: what was just appended is all there is; send it without reading it back.
            format.publishChanges(changes, tracked: true, link: self)
            if client.acknowledgedAll(qos: config.qos) { journal.commit(journal.endPosition, replayed: 0) }
        } else {
            // History first, in order; what arrives meanwhile queues behind it.
            let (records, end) = journal.read(limit: Self.replayBatchSize)
            let changes = records.compactMap { $0.change(in: table) }
            // Records of tags a commit removed since are not sent.
            if changes.count < records.count { dropped(records.count - changes.count) }
            format.publishHistory(changes, link: self)
            // Commit only what the broker acknowledged (QoS ≥ 1); a lost
            // connection leaves the batch to be sent again (at-least-once).
            if client.acknowledgedAll(qos: config.qos) { journal.commit(end, replayed: records.count) }
        }
        if !journal.isEmpty { queue.wakeup.signal() }
    }

    /// Nothing may go out: changes go to the journal, or are counted as dropped.
    private func hold() {
        if let journal {
            var records: [JournalRecord] = []
            queue.drain { records.append(JournalRecord($0, table: table)) }
            if !records.isEmpty { keep(records, in: journal) }
        } else {
            let dropped = queue.discard()
            if dropped > 0 { counts.withLock { $0.droppedOffline += dropped } }
        }
    }

    @discardableResult
    private func keep(_ records: [JournalRecord], in journal: Journal) -> Bool {
        do {
            try journal.append(records)
            return true
        } catch {
            counts.withLock { $0.failed += records.count }
            logger.error("journal append failed; changes lost", metadata: ["error": "\(error)", "count": "\(records.count)"])
            return false
        }
    }

    // MARK: For the formats

    var isConnected: Bool { client.isConnected }

    func subscribe(_ topic: String, qos: Int) { client.subscribe(topic, qos: qos) }

    /// Changes that could not be sent (a journaled record of a tag no longer configured, of a
    /// Sparkplug device not born), counted as dropped.
    func dropped(_ count: Int) {
        counts.withLock { $0.droppedOffline += count }
    }

    private func setWill() throws {
        let will = format.will()
        try client.setWill(topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain)
    }

    /// Publishes; with `tracked`, remembers the message until the broker acknowledges it (QoS ≥ 1).
    func publish(_ topic: String, _ payload: UnsafeRawBufferPointer, qos: Int, retain: Bool, tracked: Bool = false) {
        topic.withCString { publish(cTopic: $0, payload, qos: qos, retain: retain, tracked: tracked) }
    }

    /// `publish` with the topic as a NUL-terminated C string (the JSON format keeps its topics so).
    func publish(cTopic topic: UnsafePointer<CChar>, _ payload: UnsafeRawBufferPointer, qos: Int, retain: Bool,
                 tracked: Bool = false) {
        let sent = tracked
            ? client.publishTracked(topic: topic, payload: payload, qos: qos, retain: retain) != nil
            : client.publish(topic: topic, payload: payload, qos: qos, retain: retain) == 0
        counts.withLock { sent ? ($0.published += 1) : ($0.failed += 1) }
        if !sent { logger.debug("MQTT publish failed", metadata: ["topic": "\(String(cString: topic))"]) }
    }

    func publish(_ topic: String, _ payload: [UInt8]?, qos: Int, retain: Bool, tracked: Bool = false) {
        guard let payload else { return }
        payload.withUnsafeBytes { publish(topic, $0, qos: qos, retain: retain, tracked: tracked) }
    }

    func publish(_ topic: String, text: String, qos: Int, retain: Bool, tracked: Bool = false) {
        var text = text
        text.withUTF8 { publish(topic, UnsafeRawBufferPointer($0), qos: qos, retain: retain, tracked: tracked) }
    }
}
