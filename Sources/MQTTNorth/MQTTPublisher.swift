import Foundation
import Logging
import RailgateConfig
import RailgateCore
import Synchronization

/// Counters of the MQTT sink.
public struct MQTTStats: Sendable, Equatable {
    public var published: Int
    /// Publications the client refused (e.g. oversize), and changes not sent
    /// because the broker was unreachable (their latest value is sent again
    /// on reconnect).
    public var failed: Int
    public var droppedOffline: Int
    /// Changes lost because the engine's queue to this sink was full.
    public var queueOverruns: Int
    public var connected: Bool
}

/// Publishes tag changes as JSON on topics derived from the ISA-95 path:
/// `<topic_prefix>/<enterprise>/<site>/<area>/<line>/<cell>/<device>/<tag>`.
///
/// Runs on its own thread (`rg-mqtt`), draining its `ChangeQueue`; libmosquitto
/// runs the network I/O and reconnects. On every (re)connect it publishes
/// `online` on the status topic and the current value of every tag, so a
/// subscriber is complete without waiting for changes. The broker publishes
/// the retained last will `offline` if the gateway vanishes.
public final class MQTTPublisher: @unchecked Sendable, MQTTSink {
    public let config: MQTTConfig
    public let queue: ChangeQueue
    public let statusTopic: String
    private let table: TagTable
    private let topics: [String]
    private let logger: Logger
    private let client: MosquittoClient
    /// Store-and-forward journal (publishing thread only); nil when not configured or unusable.
    private let journal: Journal?
    /// False when the connection cannot be set up (bad TLS files): no connect attempts.
    private let usable: Bool
    private var failover: BrokerFailover

    private let running = Atomic<Bool>(false)
    private let needsFullState = Flag()
    private let finished = Wakeup()
    private let counters = Mutex(MQTTStats(published: 0, failed: 0, droppedOffline: 0, queueOverruns: 0, connected: false))

    public init(config: MQTTConfig, gateway: GatewayConfig, table: TagTable, logger: Logger) throws {
        self.config = config
        self.table = table
        self.logger = logger
        queue = ChangeQueue(name: "mqtt")
        failover = BrokerFailover(config)
        topics = table.tags.map { "\(config.topicPrefix)/\($0.path)" }
        statusTopic = "\(config.topicPrefix)/status/\(gateway.id)"
        let queue = self.queue
        let needsFullState = self.needsFullState
        let host = "\(config.host):\(config.port)"
        client = try MosquittoClient(clientID: config.clientID, cleanSession: config.cleanSession) { connected, code in
            if connected {
                logger.info("MQTT connected", metadata: ["broker": "\(host)"])
                needsFullState.value.store(true, ordering: .releasing)
                queue.wakeup.signal()
            } else if code == 0 {
                logger.info("MQTT disconnected", metadata: ["broker": "\(host)"])
            } else {
                logger.warning("MQTT connection lost; reconnecting",
                               metadata: ["broker": "\(host)", "reason": "\(MosquittoClient.message(code))"])
            }
        }
        usable = try client.configure(config, logger: logger)
        try client.setWill(topic: statusTopic, payload: Array("offline".utf8), qos: 1, retain: true)
        journal = config.journal.flatMap { Self.openJournal($0, logger: logger) }
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

    public var journalStats: JournalStats? { journal?.stats }

    public var stats: MQTTStats {
        var stats = counters.withLock { $0 }
        stats.queueOverruns = queue.overruns
        stats.connected = client.isConnected
        return stats
    }

    public var statsLine: String {
        let s = stats
        return "published=\(s.published) failed=\(s.failed) droppedOffline=\(s.droppedOffline) queueOverruns=\(s.queueOverruns)"
    }

    /// Connects in the background and starts the publishing thread.
    public func start() throws {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if usable { try client.start(config) }
        let thread = Thread { [self] in
            Clock.nameCurrentThread("rg-mqtt")
            run()
            finished.signal()
        }
        thread.start()
    }

    /// Publishes what is queued, marks the gateway offline and disconnects.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        queue.wakeup.signal()
        finished.wait(timeoutNs: 5_000_000_000)
        journal?.flush()
        if client.isConnected {
            publish(topic: statusTopic, payload: "offline", retain: true)
        }
        if usable { client.stop() }
    }

    private func run() {
        while running.load(ordering: .acquiring) {
            queue.wakeup.wait(timeoutNs: 500_000_000)
            if usable { client.failoverIfDue(&failover, keepalive: config.keepaliveSeconds, logger: logger) }
            publishPending()
        }
        publishPending()
    }

    private func publishPending() {
        if let journal {
            return publishJournaled(journal)
        }
        if needsFullState.value.exchange(false, ordering: .acquiringAndReleasing) {
            publish(topic: statusTopic, payload: "online", retain: true)
            // Everything queued is older than the state about to be sent.
            queue.ring.drain { _, _ in }
            for (index, state) in table.snapshot().enumerated()
            where state.sample.quality.reason != .waitingForInitialData {
                publishChange(index: index, sample: state.sample, text: state.text)
            }
            return
        }
        queue.ring.drain { sample, _ in
            let index = Int(sample.tag)
            let text = table.tags[index].dataType == .string ? table.state(index).text : nil
            publishChange(index: index, sample: sample, text: text)
        }
    }

    /// With a journal, every change is written ahead to it and marked
    /// delivered only once the broker acknowledged it (QoS 1), so neither an
    /// outage nor a crash with messages in flight loses any. While older
    /// changes wait, new ones queue behind them; after a reconnect the
    /// journal is replayed in order, a batch at a time.
    private func publishJournaled(_ journal: Journal) {
        if needsFullState.value.exchange(false, ordering: .acquiringAndReleasing) {
            publish(topic: statusTopic, payload: "online", retain: true)
        }
        var records: [JournalRecord] = []
        queue.ring.drain { sample, _ in records.append(JournalRecord(sample, table: table)) }
        let caughtUp = journal.isEmpty
        if !records.isEmpty {
            do {
                try journal.append(records)
            } catch {
                counters.withLock { $0.failed += records.count }
                logger.error("journal append failed; changes lost", metadata: ["error": "\(error)", "count": "\(records.count)"])
                return
            }
        }
        guard client.isConnected, !journal.isEmpty else { return }
        if caughtUp {
            // The common case: what was just appended is all there is; send it without reading it back.
            for record in records { publishRecord(record) }
            if client.acknowledgedAll(qos: config.qos) { journal.commit(journal.endPosition, replayed: 0) }
        } else {
            replayBatch(journal)
        }
        if !journal.isEmpty { queue.wakeup.signal() }
    }

    static let replayBatchSize = 500

    private func replayBatch(_ journal: Journal) {
        let (records, end) = journal.read(limit: Self.replayBatchSize)
        for record in records { publishRecord(record) }
        // Commit only what the broker acknowledged (QoS ≥ 1); a lost
        // connection leaves the batch to be sent again (at-least-once).
        if client.acknowledgedAll(qos: config.qos) { journal.commit(end, replayed: records.count) }
    }

    private func publishRecord(_ record: JournalRecord) {
        guard let index = table.index(ofPath: record.path) else {
            counters.withLock { $0.failed += 1 }
            return
        }
        let sample = Sample(tag: UInt32(index), quality: record.quality, timestamp: record.timestamp, value: record.value)
        var payload = JSONPayload.encode(tag: table.tags[index], sample: sample, text: record.text)
        let topic = topics[index]
        let mid = payload.withUTF8 { bytes in
            client.publishTracked(topic: topic, payload: UnsafeRawBufferPointer(bytes), qos: config.qos, retain: config.retain)
        }
        counters.withLock { mid != nil ? ($0.published += 1) : ($0.failed += 1) }
    }

    private func publishChange(index: Int, sample: Sample, text: String?) {
        guard client.isConnected else {
            counters.withLock { $0.droppedOffline += 1 }
            return
        }
        let payload = JSONPayload.encode(tag: table.tags[index], sample: sample, text: text)
        publish(topic: topics[index], payload: payload, retain: config.retain)
    }

    private func publish(topic: String, payload: String, retain: Bool) {
        var payload = payload
        let rc = payload.withUTF8 { bytes in
            client.publish(topic: topic, payload: UnsafeRawBufferPointer(bytes), qos: config.qos, retain: retain)
        }
        counters.withLock { stats in
            if rc == 0 {
                stats.published += 1
            } else {
                stats.failed += 1
            }
        }
        if rc != 0 {
            logger.debug("MQTT publish failed", metadata: ["topic": "\(topic)", "error": "\(MosquittoClient.message(rc))"])
        }
    }

    /// Set by libmosquitto's thread on connect, taken by the publishing thread.
    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }
}
