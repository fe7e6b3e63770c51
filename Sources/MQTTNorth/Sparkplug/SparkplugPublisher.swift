import Foundation
import Logging
import RailgateConfig
import RailgateCore
import SwiftProtobuf
import Synchronization

/// Counters of the Sparkplug edge node.
public struct SparkplugStats: Sendable, Equatable {
    public var published = 0
    public var failed = 0
    /// Changes not sent because the broker (or the primary host) was away;
    /// the next birth carries the current values.
    public var droppedOffline = 0
    public var births = 0
    /// NCMD/DCMD payloads that could not be decoded, named unknown metrics,
    /// or carried a value of the wrong type; and DCMD writes the gateway refused.
    public var malformedCommands = 0
    public var rejectedCommands = 0
}

/// A Sparkplug B 3.0 edge node (the gateway) with one Sparkplug device per
/// field device.
///
/// - NDEATH (with `bdSeq`) is the MQTT will; `bdSeq` grows with each session.
/// - On every connect, and on NCMD `Node Control/Rebirth`: NBIRTH (seq 0),
///   then a DBIRTH per device holding every metric with name (the tag path),
///   alias, datatype, engineering unit and range.
/// - Changes go out as DDATA by alias; a device whose tags all lost
///   communication gets a DDEATH, and a new DBIRTH when it answers again.
/// - DCMD metrics (by alias or name) become writes through the gateway's
///   write policy; refusals and malformed commands are logged and counted.
public final class SparkplugPublisher: @unchecked Sendable, MQTTSink {
    public let config: MQTTConfig
    public let sparkplug: SparkplugConfig
    public let queue: ChangeQueue
    private let table: TagTable
    private let writes: WriteRouter?
    private let logger: Logger
    private var client: MosquittoClient!
    /// False when the connection cannot be set up (bad TLS files): no connect attempts.
    private var usable = true
    private var failover: BrokerFailover

    let topics: SparkplugTopics
    /// Devices in configuration order, their tags, and each tag's device.
    private let devices: [String]
    private let deviceTags: [[Int]]
    private let deviceOfTag: [Int]
    /// Refused commands are logged a few lines a minute.
    private let commandLog = LogThrottle()
    /// The most metrics one DCMD may carry: a bigger one is refused whole.
    static let maxCommandMetrics = 1024

    /// Store-and-forward journal (publishing thread only).
    private let journal: Journal?

    private let events: Mutex<Events>
    private let counters = Mutex(SparkplugStats())
    private let running = Atomic<Bool>(false)
    private let finished = Wakeup()

    private struct Events {
        /// A new session: subscribe to commands and STATE.
        var connected = false
        var needsBirth = false
        /// bdSeq, seq and the born devices; the network thread ends sessions, the publisher sends.
        var session: SparkplugSession
        var hostOnline = false
        var commands: [(topic: String, payload: [UInt8])] = []
    }

    public init(config: MQTTConfig, sparkplug: SparkplugConfig, table: TagTable, writes: WriteRouter?,
                logger: Logger) throws {
        self.config = config
        self.sparkplug = sparkplug
        self.table = table
        self.writes = writes
        self.logger = logger
        queue = ChangeQueue(name: "sparkplug")
        failover = BrokerFailover(config)
        topics = SparkplugTopics(sparkplug)
        var devices: [String] = []
        var deviceTags: [[Int]] = []
        var deviceOfTag: [Int] = []
        for (index, tag) in table.tags.enumerated() {
            if devices.last != tag.device {
                devices.append(tag.device)
                deviceTags.append([])
            }
            deviceTags[devices.count - 1].append(index)
            deviceOfTag.append(devices.count - 1)
        }
        self.devices = devices
        self.deviceTags = deviceTags
        self.deviceOfTag = deviceOfTag
        events = Mutex(Events(session: SparkplugSession(devices: devices.count)))
        journal = config.journal.flatMap { MQTTPublisher.openJournal($0, logger: logger) }
        client = try MosquittoClient(
            clientID: config.clientID, cleanSession: config.cleanSession,
            onStateChange: { [weak self] connected, code in self?.connectionChanged(connected, code) },
            onMessage: { [weak self] topic, payload in self?.received(topic, payload) })
        usable = try client.configure(config, logger: logger)
        try client.setWill(topic: topics.ndeath, payload: deathPayload(bdSeq: 0), qos: 1, retain: false)
    }

    public var stats: SparkplugStats { counters.withLock { $0 } }

    public var statsLine: String {
        let s = stats
        return "published=\(s.published) failed=\(s.failed) births=\(s.births) droppedOffline=\(s.droppedOffline) malformedCommands=\(s.malformedCommands) rejectedCommands=\(s.rejectedCommands) queueOverruns=\(queue.overruns)"
    }

    public func start() throws {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if usable { try client.start(config) }
        let thread = Thread { [self] in
            Clock.nameCurrentThread("rg-mqtt")
            while running.load(ordering: .acquiring) {
                queue.wakeup.wait(timeoutNs: 500_000_000)
                if usable { client.failoverIfDue(&failover, keepalive: config.keepaliveSeconds, logger: logger) }
                step()
            }
            step()
            finished.signal()
        }
        thread.start()
    }

    /// Publishes NDEATH (a clean stop suppresses the will) and disconnects.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        queue.wakeup.signal()
        finished.wait(timeoutNs: 5_000_000_000)
        journal?.flush()
        if client.isConnected {
            let bdSeq = events.withLock { $0.session.bdSeq }
            publish(topics.ndeath, deathPayload(bdSeq: bdSeq), qos: 1)
        }
        if usable { client.stop() }
    }

    // MARK: Network thread

    private func connectionChanged(_ connected: Bool, _ code: Int32) {
        if connected {
            logger.info("Sparkplug edge node connected", metadata: ["broker": "\(config.host):\(config.port)",
                                                                    "edgeNode": "\(sparkplug.edgeNodeId)"])
            events.withLock {
                $0.connected = true
                $0.needsBirth = true
            }
        } else {
            // The next session gets a new bdSeq, announced by its will (Sparkplug B 3.0 §7.2).
            let next = events.withLock { $0.session.connectionLost() }
            try? client.setWill(topic: topics.ndeath, payload: deathPayload(bdSeq: next), qos: 1, retain: false)
            if code != 0 {
                logger.warning("Sparkplug connection lost; reconnecting",
                               metadata: ["reason": "\(MosquittoClient.message(code))"])
            }
        }
        queue.wakeup.signal()
    }

    /// Commands waiting for the publisher thread; more are dropped (counted and logged).
    static let maxPendingCommands = 64
    /// Commands handled per turn of the publisher thread, between which it publishes changes.
    static let commandsPerTurn = 2

    private func received(_ topic: String, _ payload: [UInt8]) {
        let taken = events.withLock { state -> Bool in
            guard state.commands.count < Self.maxPendingCommands else { return false }
            state.commands.append((topic, payload))
            return true
        }
        if !taken { reject("\(Self.maxPendingCommands) commands are waiting already; this one is dropped", topic: topic, malformed: false) }
        queue.wakeup.signal()
    }

    // MARK: Publisher thread

    private func step() {
        let (connected, needsBirth, commands, moreCommands, hostOnline) = events.withLock { state in
            // A few commands a turn: a flood of them delays the DDATA of changes by a turn, not by the flood.
            let commands = Array(state.commands.prefix(Self.commandsPerTurn))
            defer {
                state.connected = false
                state.needsBirth = false
                state.commands.removeFirst(commands.count)
            }
            return (state.connected, state.needsBirth, commands, state.commands.count > commands.count, state.hostOnline)
        }
        if moreCommands { queue.wakeup.signal() }
        // Subscribe on every connect, before anything else: STATE decides whether we may publish.
        if connected && client.isConnected { subscribeCommands() }
        var rebirth = needsBirth
        for command in commands { rebirth = handle(command.topic, command.payload) || rebirth }
        let mayPublish = client.isConnected && (sparkplug.primaryHostId == nil || hostOnline)
        guard mayPublish else {
            if let journal {
                keep(drainRecords(), in: journal)
            } else {
                let dropped = queue.ring.drain { _, _ in }
                if dropped > 0 { counters.withLock { $0.droppedOffline += dropped } }
            }
            if rebirth { events.withLock { $0.needsBirth = true } }  // birth once publishing is allowed
            return
        }
        if rebirth { birth() }
        if let journal, !journal.isEmpty {
            // History first, in order; what arrives meanwhile queues behind it.
            keep(drainRecords(), in: journal)
            replayHistory(journal)
            if !journal.isEmpty { queue.wakeup.signal() }
            return
        }
        var samples: [Sample] = []
        queue.ring.drain { sample, _ in samples.append(sample) }
        if rebirth || samples.isEmpty { return }  // the births carry the current values
        guard let journal else { return publishChanges(samples) }
        // Written ahead, marked delivered once the broker acknowledged the DDATA (QoS 1).
        keep(samples.map { JournalRecord($0, table: table) }, in: journal)
        publishChanges(samples)
        if client.acknowledgedAll(qos: config.qos) { journal.commit(journal.endPosition, replayed: 0) }
    }

    private func drainRecords() -> [JournalRecord] {
        var records: [JournalRecord] = []
        queue.ring.drain { sample, _ in records.append(JournalRecord(sample, table: table)) }
        return records
    }

    private func keep(_ records: [JournalRecord], in journal: Journal) {
        do {
            try journal.append(records)
        } catch {
            counters.withLock { $0.failed += records.count }
            logger.error("journal append failed; changes lost", metadata: ["error": "\(error)", "count": "\(records.count)"])
        }
    }

    /// Sends a batch of journaled changes as historical DDATA metrics
    /// (Sparkplug B 3.0 §6.4.17 is_historical) of born devices, and commits
    /// the batch once the broker acknowledged it.
    private func replayHistory(_ journal: Journal) {
        let (records, end) = journal.read(limit: MQTTPublisher.replayBatchSize)
        var byDevice = Array(repeating: [SparkplugMetric](), count: devices.count)
        var unusable = 0
        let born = events.withLock { $0.session.born }
        for record in records {
            guard let index = table.index(ofPath: record.path), born[deviceOfTag[index]] else {
                unusable += 1
                continue
            }
            let sample = Sample(tag: UInt32(index), quality: record.quality, timestamp: record.timestamp, value: record.value)
            byDevice[deviceOfTag[index]].append(SparkplugMetrics.metric(table.tags[index], index: index, sample: sample,
                                                                        text: record.text, birth: false, historical: true))
        }
        if unusable > 0 { counters.withLock { $0.droppedOffline += unusable } }
        for device in devices.indices where !byDevice[device].isEmpty {
            var data = SparkplugPayload()
            data.timestamp = now
            data.seq = nextSeq()
            data.metrics = byDevice[device]
            publishTracked(topics.ddata(devices[device]), try? data.serializedBytes(), qos: config.qos)
        }
        if client.acknowledgedAll(qos: config.qos) { journal.commit(end, replayed: records.count) }
    }

    private func subscribeCommands() {
        client.subscribe(topics.ncmd, qos: 1)
        client.subscribe(topics.dcmd, qos: 1)
        if let state = topics.state { client.subscribe(state, qos: 1) }
    }

    private func nextSeq() -> UInt64 { events.withLock { $0.session.nextSeq() } }

    private func birth() {
        let (seq, bdSeq) = events.withLock { $0.session.nodeBirth() }
        var node = SparkplugPayload()
        node.timestamp = now
        node.seq = seq
        node.metrics = [longMetric("bdSeq", bdSeq), boolMetric("Node Control/Rebirth", false)]
        publish(topics.nbirth, try? node.serializedBytes(), qos: 0)
        counters.withLock { $0.births += 1 }
        let states = table.snapshot()
        for device in devices.indices {
            if deviceTags[device].allSatisfy({ states[$0].sample.quality.reason == .waitingForInitialData }) { continue }
            deviceBirth(device, seq: events.withLock { $0.session.deviceBirth(device) }, states: states)
        }
    }

    private func deviceBirth(_ device: Int, seq: UInt64, states: [TagState]) {
        var payload = SparkplugPayload()
        payload.timestamp = now
        payload.seq = seq
        payload.metrics = deviceTags[device].map { index in
            SparkplugMetrics.metric(table.tags[index], index: index, sample: states[index].sample,
                                    text: states[index].text, birth: true)
        }
        publish(topics.dbirth(devices[device]), try? payload.serializedBytes(), qos: 0)
    }

    private func publishChanges(_ samples: [Sample]) {
        var changes = Array(repeating: [Sample](), count: devices.count)
        for sample in samples where Int(sample.tag) < deviceOfTag.count {
            changes[deviceOfTag[Int(sample.tag)]].append(sample)
        }
        guard changes.contains(where: { !$0.isEmpty }) else { return }
        let states = table.snapshot()
        for device in devices.indices where !changes[device].isEmpty {
            let tags = deviceTags[device]
            let communicating = tags.contains { index in
                let reason = states[index].sample.quality.reason
                return reason != .timeout && reason != .disconnected && reason != .waitingForInitialData
            }
            let seq: UInt64
            switch events.withLock({ $0.session.deviceChanged(device, communicating: communicating) }) {
            case .none:
                continue
            case .birth(let birthSeq):
                deviceBirth(device, seq: birthSeq, states: states)
                continue
            case .death(let deathSeq):
                var death = SparkplugPayload()
                death.timestamp = now
                death.seq = deathSeq
                publish(topics.ddeath(devices[device]), try? death.serializedBytes(), qos: 0)
                continue
            case .data(let dataSeq):
                seq = dataSeq
            }
            var data = SparkplugPayload()
            data.timestamp = now
            data.seq = seq
            data.metrics = changes[device].map { sample in
                let index = Int(sample.tag)
                let text = table.tags[index].dataType == .string ? states[index].text : nil
                return SparkplugMetrics.metric(table.tags[index], index: index, sample: sample, text: text, birth: false)
            }
            publishTracked(topics.ddata(devices[device]), try? data.serializedBytes(), qos: config.qos)
        }
    }

    /// Handles NCMD, DCMD and STATE; returns true when a rebirth is asked for. Fuzzed by
    /// scripts/fuzz (harness `sparkplug`).
    func handle(_ topic: String, _ bytes: [UInt8]) -> Bool {
        if topic == topics.state {
            // Sparkplug B 3.0 §7.5: the primary host publishes {"online": true|false, "timestamp": …}.
            let online = (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])?["online"] as? Bool
            events.withLock { $0.hostOnline = online ?? false }
            if online == true { events.withLock { $0.needsBirth = true } }
            return false
        }
        guard let payload = try? SparkplugPayload(serializedBytes: bytes) else {
            reject("undecodable payload", topic: topic, malformed: true)
            return false
        }
        if topic == topics.ncmd {
            var rebirth = false
            for metric in payload.metrics {
                if metric.name == "Node Control/Rebirth", case .booleanValue(true)? = metric.value {
                    logger.info("Sparkplug rebirth requested")
                    rebirth = true
                } else {
                    reject("unknown node command \(metric.name)", topic: topic, malformed: true)
                }
            }
            return rebirth
        }
        guard let device = topics.device(ofCommand: topic), let deviceIndex = devices.firstIndex(of: device) else {
            reject("command for an unknown device", topic: topic, malformed: true)
            return false
        }
        guard payload.metrics.count <= Self.maxCommandMetrics else {
            reject("a command of \(payload.metrics.count) metrics; at most \(Self.maxCommandMetrics) are taken in one",
                   topic: topic, malformed: false)
            return false
        }
        for metric in payload.metrics { command(metric, device: deviceIndex, topic: topic) }
        return false
    }

    private func command(_ metric: SparkplugMetric, device: Int, topic: String) {
        // Alias n is tag n-1 (SparkplugMetrics.alias); either way the tag must be this device's.
        let candidate: Int? = metric.hasAlias
            ? (metric.alias >= 1 && metric.alias <= UInt64(table.count) ? Int(metric.alias - 1) : nil)
            : table.index(ofPath: metric.name)
        let index = candidate.flatMap { deviceOfTag[$0] == device ? $0 : nil }
        guard let index else {
            return reject("unknown metric \(metric.hasAlias ? "alias \(metric.alias)" : metric.name)", topic: topic,
                          malformed: true)
        }
        let tag = table.tags[index]
        guard let value = SparkplugMetrics.writeValue(metric, for: tag) else {
            return reject("value of the wrong type for \(tag.path)", topic: topic, malformed: true)
        }
        guard let writes else { return reject("writes are not available", topic: topic, malformed: false) }
        let logger = self.logger
        writes.write(path: tag.path, value: value, origin: "sparkplug:dcmd") { [weak self] outcome in
            if outcome != .done, let self {
                self.counters.withLock { $0.rejectedCommands += 1 }
                guard let suppressed = self.commandLog.admit() else { return }
                logger.warning("Sparkplug DCMD write not done", metadata: ["tag": "\(tag.path)", "outcome": "\(outcome)",
                                                                          "suppressed": "\(suppressed)"])
            }
        }
    }

    private func reject(_ why: String, topic: String, malformed: Bool) {
        counters.withLock { malformed ? ($0.malformedCommands += 1) : ($0.rejectedCommands += 1) }
        // A command of 100 000 unknown aliases is counted whole (`show stats`) and logged a few times.
        guard let suppressed = commandLog.admit() else { return }
        logger.warning("Sparkplug command ignored", metadata: ["topic": "\(topic)", "reason": "\(why)",
                                                               "suppressed": "\(suppressed) similar line(s)"])
    }

    // MARK: Helpers

    private var now: UInt64 { UInt64(Clock.realtimeNs() / 1_000_000) }

    private func deathPayload(bdSeq: UInt64) -> [UInt8] {
        var payload = SparkplugPayload()
        payload.timestamp = now
        payload.metrics = [longMetric("bdSeq", bdSeq)]
        return (try? payload.serializedBytes()) ?? []
    }

    private func longMetric(_ name: String, _ value: UInt64) -> SparkplugMetric {
        var metric = SparkplugMetric()
        metric.name = name
        metric.timestamp = now
        metric.datatype = SparkplugType.uint64
        metric.longValue = value
        return metric
    }

    private func boolMetric(_ name: String, _ value: Bool) -> SparkplugMetric {
        var metric = SparkplugMetric()
        metric.name = name
        metric.timestamp = now
        metric.datatype = SparkplugType.boolean
        metric.booleanValue = value
        return metric
    }

    /// Publishes and tracks the acknowledgement (journaled data).
    private func publishTracked(_ topic: String, _ payload: [UInt8]?, qos: Int) {
        guard let payload else { return }
        let mid = payload.withUnsafeBytes { client.publishTracked(topic: topic, payload: $0, qos: qos, retain: false) }
        counters.withLock { mid != nil ? ($0.published += 1) : ($0.failed += 1) }
    }

    private func publish(_ topic: String, _ payload: [UInt8]?, qos: Int) {
        guard let payload else { return }
        let rc = payload.withUnsafeBytes { client.publish(topic: topic, payload: $0, qos: qos, retain: false) }
        counters.withLock { rc == 0 ? ($0.published += 1) : ($0.failed += 1) }
    }
}

/// The topics of one edge node (Sparkplug B 3.0 §4.1).
struct SparkplugTopics: Sendable {
    let nbirth, ndeath, ndata, ncmd, dcmd: String
    let state: String?
    private let devicePrefix: String

    init(_ config: SparkplugConfig) {
        let node = "spBv1.0/\(config.groupId)"
        nbirth = "\(node)/NBIRTH/\(config.edgeNodeId)"
        ndeath = "\(node)/NDEATH/\(config.edgeNodeId)"
        ndata = "\(node)/NDATA/\(config.edgeNodeId)"
        ncmd = "\(node)/NCMD/\(config.edgeNodeId)"
        dcmd = "\(node)/DCMD/\(config.edgeNodeId)/+"
        devicePrefix = "\(node)/DCMD/\(config.edgeNodeId)/"
        state = config.primaryHostId.map { "spBv1.0/STATE/\($0)" }
        self.node = node
        edge = config.edgeNodeId
    }

    private let node: String
    private let edge: String

    func dbirth(_ device: String) -> String { "\(node)/DBIRTH/\(edge)/\(device)" }
    func ddeath(_ device: String) -> String { "\(node)/DDEATH/\(edge)/\(device)" }
    func ddata(_ device: String) -> String { "\(node)/DDATA/\(edge)/\(device)" }

    func device(ofCommand topic: String) -> String? {
        guard topic.hasPrefix(devicePrefix) else { return nil }
        let device = topic.dropFirst(devicePrefix.count)
        return device.isEmpty || device.contains("/") ? nil : String(device)
    }
}
