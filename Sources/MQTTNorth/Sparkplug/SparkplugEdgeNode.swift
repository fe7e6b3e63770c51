import FoundationEssentials
import Logging
import RailgateConfig
import RailgateCore
import SwiftProtobuf
import Synchronization

/// A Sparkplug B 3.0 edge node (the gateway) with one Sparkplug device per
/// field device, on the north connection (`MQTTNorthLink`).
///
/// - NDEATH (with `bdSeq`) is the MQTT will; `bdSeq` grows with each session.
/// - On every connect, and on NCMD `Node Control/Rebirth`: NBIRTH (seq 0),
///   then a DBIRTH per device holding every metric with name (the tag path),
///   alias, datatype, engineering unit and range.
/// - Changes go out as DDATA by alias; a device whose tags all lost
///   communication gets a DDEATH, and a new DBIRTH when it answers again.
/// - With a primary host configured, nothing is published while its STATE is offline.
/// - DCMD metrics (by alias or name) become writes through the gateway's
///   write policy; refusals and malformed commands are logged and counted.
final class SparkplugEdgeNode: MQTTNorthFormat {
    let name = "sparkplug"
    let config: MQTTConfig
    let sparkplug: SparkplugConfig
    private let table: TagTable
    private let writes: WriteRouter?
    private let logger: Logger

    let topics: SparkplugTopics
    /// The field devices, each a Sparkplug device: names, tags, each tag's device.
    private let devices: DeviceTable
    /// Each device's Sparkplug device id: its name, or its equipment id (`device_topics: equipment`).
    private let deviceIds: [String]
    private let deviceByTopicId: [String: Int]
    /// Each device's DDATA topic.
    private let dataTopics: [String]
    /// DDATA's encoder and the changes grouped by device, kept from turn to turn (publishing
    /// thread only; the lock is never contended).
    private let data = Mutex(DataBuffers())
    private struct DataBuffers {
        var encoder = SparkplugDataEncoder()
        var grouping = DeviceGrouping()
    }
    /// Refused commands are logged a few lines a minute.
    private let commandLog = LogThrottle()
    /// The most metrics one DCMD may carry: a bigger one is refused whole.
    static let maxCommandMetrics = 1024

    private let events: Mutex<Events>
    private let tally = Mutex(Tally())

    private struct Events {
        /// A new session: subscribe to commands and STATE.
        var connected = false
        var needsBirth = false
        /// bdSeq, seq and the born devices; the network thread ends sessions, the publisher sends.
        var session: SparkplugSession
        var hostOnline = false
        var commands: [(topic: String, payload: [UInt8])] = []
    }

    private struct Tally {
        var births = 0
        /// NCMD/DCMD payloads that could not be decoded, named unknown metrics,
        /// or carried a value of the wrong type; and DCMD writes the gateway refused.
        var malformedCommands = 0
        var rejectedCommands = 0
    }

    init(config: MQTTConfig, sparkplug: SparkplugConfig, table: TagTable, devices: DeviceTable, writes: WriteRouter?,
         logger: Logger) {
        self.config = config
        self.sparkplug = sparkplug
        self.table = table
        self.writes = writes
        self.logger = logger
        topics = SparkplugTopics(sparkplug)
        self.devices = devices
        deviceIds = devices.indices.map { devices.topicName($0, byEquipment: config.topicsByEquipment) }
        deviceByTopicId = Dictionary(deviceIds.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let topics = topics
        dataTopics = deviceIds.map { topics.ddata($0) }
        events = Mutex(Events(session: SparkplugSession(devices: devices.count)))
    }

    var counters: [StatusCounter] {
        let tally = tally.withLock { $0 }
        return [StatusCounter("births", tally.births), StatusCounter("malformedCommands", tally.malformedCommands),
                StatusCounter("rejectedCommands", tally.rejectedCommands)]
    }

    func will() -> NorthMessage {
        NorthMessage(topic: topics.ndeath, payload: deathPayload(bdSeq: events.withLock { $0.session.bdSeq }),
                     qos: 1, retain: false)
    }

    /// A clean stop publishes the NDEATH itself (the broker then drops the will).
    func goodbye() -> NorthMessage { will() }

    // MARK: Network thread

    func connectionChanged(_ connected: Bool, code: Int32, link: MQTTNorthLink) {
        if connected {
            logger.info("Sparkplug edge node connected", metadata: ["broker": "\(config.host):\(config.port)",
                                                                    "edgeNode": "\(sparkplug.edgeNodeId)"])
            events.withLock {
                $0.connected = true
                $0.needsBirth = true
            }
        } else {
            // The next session gets a new bdSeq, announced by its will (Sparkplug B 3.0 §7.2), which the link sets.
            _ = events.withLock { $0.session.connectionLost() }
            if code != 0 {
                logger.warning("Sparkplug connection lost; reconnecting",
                               metadata: ["reason": "\(MosquittoClient.message(code))"])
            }
        }
    }

    /// Commands waiting for the publisher thread; more are dropped (counted and logged).
    static let maxPendingCommands = 64
    /// Commands handled per turn of the publisher thread, between which it publishes changes.
    static let commandsPerTurn = 2

    func received(topic: String, payload: [UInt8], link: MQTTNorthLink) {
        let taken = events.withLock { state -> Bool in
            guard state.commands.count < Self.maxPendingCommands else { return false }
            state.commands.append((topic, payload))
            return true
        }
        if !taken { reject("\(Self.maxPendingCommands) commands are waiting already; this one is dropped", topic: topic, malformed: false) }
    }

    // MARK: Publishing thread

    func beginTurn(_ link: MQTTNorthLink) -> NorthTurn {
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
        if moreCommands { link.queue.wakeup.signal() }
        // Subscribe on every connect, before anything else: STATE decides whether we may publish.
        if connected && link.isConnected { subscribeCommands(link) }
        var rebirth = needsBirth
        for command in commands { rebirth = handle(command.topic, command.payload) || rebirth }
        let mayPublish = link.isConnected && (sparkplug.primaryHostId == nil || hostOnline)
        if rebirth && !mayPublish { events.withLock { $0.needsBirth = true } }  // birth once publishing is allowed
        return NorthTurn(mayPublish: mayPublish, sendsState: rebirth)
    }

    /// Sends a batch of journaled changes as historical DDATA metrics
    /// (Sparkplug B 3.0 §6.4.17 is_historical) of born devices.
    func publishHistory(_ changes: [Change], link: MQTTNorthLink) {
        let born = events.withLock { $0.session.born }
        var unborn = 0
        data.withLock { data in
            data.grouping.group(changes, deviceOfTag: devices.deviceOfTag, deviceCount: devices.count)
            for device in devices.indices where data.grouping.has(device) {
                guard born[device] else {
                    unborn += data.grouping.count(device)
                    continue
                }
                sendData(device, seq: nextSeq(), changes, data.grouping.changes(of: device), historical: true,
                         tracked: true, encoder: &data.encoder, link: link)
            }
        }
        if unborn > 0 { link.dropped(unborn) }
    }

    /// Writes one DDATA of `device`'s changes (positions in `changes`) with the kept encoder.
    private func sendData(_ device: Int, seq: UInt64, _ changes: [Change], _ positions: ArraySlice<Int32>,
                          historical: Bool, tracked: Bool, encoder: inout SparkplugDataEncoder, link: MQTTNorthLink) {
        encoder.begin(timestamp: now, seq: seq)
        for position in positions {
            let change = changes[Int(position)]
            let index = Int(change.sample.tag)
            encoder.metric(table.tags[index], index: index, sample: change.sample, text: change.text, historical: historical)
        }
        encoder.end()
        encoder.bytes.withUnsafeBytes {
            link.publish(dataTopics[device], $0, qos: config.qos, retain: false, tracked: tracked)
        }
    }

    private func subscribeCommands(_ link: MQTTNorthLink) {
        link.subscribe(topics.ncmd, qos: 1)
        link.subscribe(topics.dcmd, qos: 1)
        if let state = topics.state { link.subscribe(state, qos: 1) }
    }

    private func nextSeq() -> UInt64 { events.withLock { $0.session.nextSeq() } }

    /// NBIRTH, then a DBIRTH for every device that has data.
    func sendState(_ link: MQTTNorthLink) {
        let (seq, bdSeq) = events.withLock { $0.session.nodeBirth() }
        send(topics.nbirth, seq: seq, metrics: [nodeMetric("bdSeq", SparkplugType.uint64, .longValue(bdSeq)),
                                                nodeMetric("Node Control/Rebirth", SparkplugType.boolean, .booleanValue(false))],
             link: link)
        tally.withLock { $0.births += 1 }
        let states = table.snapshot()
        for device in devices.indices {
            // A device still in its first reading is born by the change that completes it.
            if !Self.readOnce(devices.tags[device], states) { continue }
            deviceBirth(device, seq: events.withLock { $0.session.deviceBirth(device) }, states: states, link: link)
        }
    }

    private func deviceBirth(_ device: Int, seq: UInt64, states: [TagState], link: MQTTNorthLink) {
        var metrics = devices.tags[device].map { index in
            SparkplugMetrics.metric(table.tags[index], index: index, sample: states[index].sample,
                                    text: states[index].text, birth: true)
        }
        if let identity = devices.identities[device] {
            // The device's ISA-95 identity, as device properties (name only: they never change in a session).
            let fields = [("Properties/EquipmentID", identity.equipmentId), ("Properties/WorkCenter", identity.workCenter),
                          ("Properties/EquipmentLevel", identity.level.description),
                          ("Properties/Description", identity.description)]
            for case let (name, value?) in fields {
                metrics.append(nodeMetric(name, SparkplugType.string, .stringValue(value)))
            }
        }
        send(topics.dbirth(deviceIds[device]), seq: seq, metrics: metrics, link: link)
    }

    /// Every tag of the device has had its first reading, or its first failure: its DBIRTH then
    /// carries a whole first picture, not the tags of the first request of a cycle beside nulls.
    /// (Every protocol ends the wait: a Modbus cycle, a DP slave's state, a CAN message's timeout.)
    static func readOnce(_ tags: [Int], _ states: [TagState]) -> Bool {
        !tags.contains { states[$0].sample.quality.reason == .waitingForInitialData }
    }

    func publishChanges(_ all: [Change], tracked: Bool, link: MQTTNorthLink) {
        data.withLock { data in
            data.grouping.group(all, deviceOfTag: devices.deviceOfTag, deviceCount: devices.count)
            for device in devices.indices where data.grouping.has(device) {
                // Read in place: a copy of every tag's state per turn cost more than the message.
                var communicating = false
                table.withStates { states in
                    let tags = devices.tags[device]
                    communicating = !tags.contains { states[$0].sample.quality.reason == .waitingForInitialData }
                        && tags.contains { index in
                            let reason = states[index].sample.quality.reason
                            return reason != .timeout && reason != .disconnected
                        }
                }
                switch events.withLock({ $0.session.deviceChanged(device, communicating: communicating) }) {
                case .none:
                    continue
                case .birth(let birthSeq):
                    deviceBirth(device, seq: birthSeq, states: table.snapshot(), link: link)
                case .death(let deathSeq):
                    send(topics.ddeath(deviceIds[device]), seq: deathSeq, metrics: [], link: link)
                case .data(let seq):
                    sendData(device, seq: seq, all, data.grouping.changes(of: device), historical: false, tracked: tracked,
                             encoder: &data.encoder, link: link)
                }
            }
        }
    }

    /// Handles NCMD, DCMD and STATE; returns true when a rebirth is asked for. Fuzzed by
    /// scripts/fuzz (harness `sparkplug`).
    func handle(_ topic: String, _ bytes: [UInt8]) -> Bool {
        if topic == topics.state {
            // Sparkplug B 3.0 §7.5: the primary host publishes {"online": true|false, "timestamp": …}.
            let online = (try? JSONDecoder().decode(HostState.self, from: Data(bytes)))?.online
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
        guard let device = topics.device(ofCommand: topic), let deviceIndex = deviceByTopicId[device] else {
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
        let index = candidate.flatMap { devices.deviceOfTag[$0] == device ? $0 : nil }
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
        writes.write(tag: index, value: value, origin: "sparkplug:dcmd", reason: SparkplugMetrics.reason(metric)) {
            [weak self] outcome in
            if outcome != .done, let self {
                self.tally.withLock { $0.rejectedCommands += 1 }
                guard let suppressed = self.commandLog.admit() else { return }
                logger.warning("Sparkplug DCMD write not done", metadata: ["tag": "\(tag.path)", "outcome": "\(outcome)",
                                                                          "suppressed": "\(suppressed)"])
            }
        }
    }

    private func reject(_ why: String, topic: String, malformed: Bool) {
        tally.withLock { malformed ? ($0.malformedCommands += 1) : ($0.rejectedCommands += 1) }
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
        payload.metrics = [nodeMetric("bdSeq", SparkplugType.uint64, .longValue(bdSeq))]
        return (try? payload.serializedBytes()) ?? []
    }

    /// Publishes a payload stamped now with its seq and metrics (QoS 0 unless given: births, deaths).
    private func send(_ topic: String, seq: UInt64, metrics: [SparkplugMetric], qos: Int = 0, tracked: Bool = false,
                      link: MQTTNorthLink) {
        var payload = SparkplugPayload()
        payload.timestamp = now
        payload.seq = seq
        payload.metrics = metrics
        link.publish(topic, try? payload.serializedBytes(), qos: qos, retain: false, tracked: tracked)
    }

    /// A metric by name without alias (bdSeq, Node Control/Rebirth, a device's properties), stamped now.
    private func nodeMetric(_ name: String, _ datatype: UInt32, _ value: SparkplugMetric.OneOf_Value) -> SparkplugMetric {
        var metric = SparkplugMetric()
        metric.name = name
        metric.timestamp = now
        metric.datatype = datatype
        metric.value = value
        return metric
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

/// The primary host's STATE message; only `online` is read.
private struct HostState: Decodable {
    var online: Bool?
}
