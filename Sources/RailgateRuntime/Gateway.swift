import CANSouth
import FoundationEssentials
import Glibc
import Logging
import ModbusSouth
import MQTTNorth
import OPCUAServer
import ProfibusSouth
import RailgateAudit
import RailgateConfig
import RailgateCore
import RailgateHistory
import Synchronization

/// Every south protocol, in the order `Configuration.tags()` numbers their tags. A new protocol
/// is its own module plus one line here.
public enum SouthRegistry {
    public static let factories: [SouthFactory] = [
        BusPoller.factory,
        DPMaster.factory,
        CANBus.factory,
    ]
}

/// Wires one configuration into running parts: a thread per south bus, the
/// engine thread, the MQTT sink, the OPC UA server and the write router.
public final class Gateway: @unchecked Sendable {
    let logger = Logger(label: "railgate")
    public let configuration: Configuration
    public let table: TagTable
    public let engine: TagEngine
    /// Every south bus, line and CAN bus, in tag order.
    public let south: [any SouthBus]
    let layout: SouthLayout
    /// The field devices of every bus, for north.
    public let devices: DeviceTable
    public let mqtt: (any MQTTSink)?
    public let writes: WriteRouter
    public let opcua: UAServer?
    let auditTrail: AuditTrail?
    /// The history of historized tags (`history:`).
    public let history: HistoryStore?
    /// Where the KPI engine's state is kept, when `kpi.state_file` is set.
    let kpiState: KPIStateFile?

    let configPath: String

    /// - Parameters:
    ///   - auditTrail: the trail this gateway writes to; owned by the caller
    ///     so that it outlives a gateway replaced by a commit.
    ///   - engineWakeup: what south threads signal; shared by successive
    ///     gateways so that a kept south thread wakes the new engine.
    ///   - reusing: the south threads of the gateway this one replaces; those
    ///     whose settings did not change are kept running.
    public init(configuration: Configuration, configPath: String, auditTrail trail: AuditTrail?,
                engineWakeup: Wakeup = Wakeup(), reusing previous: Gateway? = nil) throws {
        self.configPath = configPath
        self.configuration = configuration
        let tags = configuration.tags()
        let table = TagTable(tags: tags)
        self.table = table
        let layout = SouthLayout(configuration: configuration, tags: tags, factories: SouthRegistry.factories,
                                 engineWakeup: engineWakeup, reusing: previous?.south ?? [])
        self.layout = layout
        south = layout.buses
        let devices = layout.deviceTable(tags: tags, identities: configuration.identities)
        self.devices = devices
        let audit = Logger(label: "railgate.audit")
        auditTrail = trail
        // Every write is in the audit trail; the log has them too, but a flood of writes (a DCMD of
        // 40 000 metrics) gives 100 lines in 10 s and a count of the rest.
        let writeLog = LogThrottle(burst: 100, intervalNs: 10_000_000_000)
        // The OPC UA server is made after the write router, which tells it of writes.
        let opcuaWrites = WeakBox<UAServer>()
        // KPI and alarm state tags come after the south tags; no bus owns them.
        let unowned = tags.count - layout.owners.count
        let writes = WriteRouter(table: table, writesEnabled: configuration.gateway.writesEnabled,
                                 targets: layout.owners.map { $0 as (any TagWriteTarget)? } + Array(repeating: nil, count: unowned),
                                 localIndices: layout.localIndices + Array(repeating: 0, count: unowned),
                                 requiresReason: configuration.gateway.part11) { record in
            if let suppressed = writeLog.admit() {
                var metadata: Logger.Metadata = [
                    "origin": "\(record.origin)", "tag": "\(record.path)", "value": "\(record.value)",
                    "outcome": "\(record.outcome)"]
                if suppressed > 0 { metadata["suppressed"] = "\(suppressed) write line(s); all are in the audit trail" }
                audit.notice("write", metadata: metadata)
            }
            // OPC UA clients watching events see every write, whichever side asked for it.
            opcuaWrites.value?.recordWrite(record)
            // Called on the bus thread that wrote: the trail's writer thread writes and fsyncs.
            var fields = [("tag", record.path), ("value", "\(record.value)"), ("outcome", "\(record.outcome)")]
            if let old = record.old, let index = record.tag, table.tags.indices.contains(index) {
                fields.append(("old", Gateway.text(of: old, table.tags[index])))
            }
            if let reason = record.reason { fields.append(("reason", reason)) }
            trail?.appendQueued(event: "write", user: record.origin, fields: fields, at: record.timestamp) { error in
                audit.critical("audit trail not written", metadata: ["error": "\(error)"])
            }
        }
        self.writes = writes
        var auditHead: (@Sendable () -> (seq: UInt64, hash: String))?
        if let trail { auditHead = { trail.head } }
        let mqtt = try configuration.mqtt.map { config in
            try MQTTNorth.sink(config: config, gateway: configuration.gateway, table: table, devices: devices,
                               writes: writes, logger: Logger(label: "railgate.mqtt"), auditHead: auditHead)
        }
        self.mqtt = mqtt
        let kpiState = configuration.kpi?.stateFile.map { KPIStateFile(path: $0, logger: Logger(label: "railgate.kpi")) }
        self.kpiState = kpiState
        let kpi = configuration.kpi.map { config in
            KPIEngine(machines: configuration.kpiMachines(tags: tags), calendar: ShiftCalendar(shifts: config.shifts),
                      tags: tags, rollingMinutes: config.rollingMinutes,
                      publishIntervalNs: Int64(config.publishMs) * 1_000_000,
                      // A commit hands the running figures over; a start reads the state file.
                      restored: previous?.engine.kpi?.snapshot() ?? kpiState?.load())
        }
        let history = try configuration.history.map { config in
            try HistoryStore(config: config, tags: tags, historized: configuration.historizedTags(tags),
                             logger: Logger(label: "railgate.history"))
        }
        self.history = history
        let definitions = configuration.alarmDefinitions(tags: tags)
        let alarms = definitions.isEmpty ? nil : AlarmEngine(definitions: definitions, wakeup: engineWakeup)
        // A commit keeps what operators saw: an alarm waiting for acknowledgment keeps waiting.
        alarms?.restore(from: previous?.engine.alarms)
        engine = TagEngine(table: table, rings: layout.buses.map(\.ring), ringBases: layout.bases,
                           sinks: (mqtt.map { [$0.queue] } ?? []) + (history.map { [$0.queue] } ?? []), wakeup: engineWakeup,
                           maxAgesNs: layout.deadlinesNs(tagCount: tags.count), kpi: kpi, alarms: alarms)
        opcua = try configuration.opcua.map { config in
            try UAServer(config: config, model: Gateway.model(configuration, table: table, devices: devices, opcua: config,
                                                              history: history, alarms: alarms),
                         identity: Gateway.identity(configuration, opcua: config), writes: writes,
                         logger: Logger(label: "railgate.opcua"), audit: { [trail] event, user, details in
                             // Off the OPC UA event loop: the trail's writer thread writes and fsyncs (a
                             // client sending refused calls or activations must not stall every session).
                             trail?.appendQueued(event: event, user: user, fields: details) { error in
                                 Logger(label: "railgate.audit").critical("audit trail not written", metadata: ["error": "\(error)"])
                             }
                         })
        }
        opcuaWrites.value = opcua
        logger.info("configuration loaded", metadata: [
            "file": "\(configPath)", "buses": "\(south.count)", "tags": "\(tags.count)",
            "writes": "\(configuration.gateway.writesEnabled ? "enabled" : "disabled")"])
    }

    /// Records a gateway event (start, stop) in the audit trail, if any.
    func recordEvent(_ event: String, details: KeyValuePairs<String, String>) {
        do {
            try auditTrail?.append(event: event, user: "railgate[\(getpid())] uid \(getuid())", details: details)
        } catch {
            logger.critical("audit trail not written", metadata: ["error": "\(error)"])
        }
    }

    public func start() throws {
        let engine = self.engine
        OSThread.start { engine.run() }
        if let kpi = engine.kpi { kpiState?.start(kpi) }
        history?.start()
        try mqtt?.start()
        try opcua?.start()
        for bus in south { bus.start() }
        recordEvent("start", details: ["version": RailgateVersion.string, "config": configPath,
                                       "config_sha256": Gateway.fileDigest(configPath)])
        logger.notice("railgate running", metadata: ["version": "\(RailgateVersion.string)",
                                                     "gateway": "\(configuration.gateway.id)"])
    }

    /// South buses that `other` does not run too.
    func southBuses(notIn other: Gateway?) -> [any SouthBus] {
        let kept = Set((other?.south ?? []).map { ObjectIdentifier($0) })
        return south.filter { !kept.contains(ObjectIdentifier($0)) }
    }

    /// Stops the south threads that `replacement` does not keep running.
    func stopSouth(notIn replacement: Gateway?) {
        for bus in southBuses(notIn: replacement) { bus.stop() }
    }

    /// Stops the engine (after a last drain) and the north side: OPC UA, then
    /// MQTT (publishes what is queued and goes offline).
    func stopEngineAndNorth() {
        engine.stop()
        kpiState?.stop()
        history?.stop()
        opcua?.stop()
        mqtt?.stop()
    }

    /// Stops south first (no new samples), then the engine and north; logs every bus's totals.
    public func stop() {
        stopSouth(notIn: nil)
        stopEngineAndNorth()
        for status in south.map({ $0.status() }) {
            logger.info("south totals", metadata: Gateway.metadata(status.counters, [
                "protocol": "\(status.protocolName)", status.kind: "\(status.name)"]))
            for device in status.devices {
                logger.info("device totals", metadata: Gateway.metadata(device.counters, [
                    "device": "\(device.name)", "bus": "\(status.name)"]))
            }
        }
        if let mqtt {
            logger.info("mqtt totals: \(mqtt.statsLine)")
        }
        if let history { logger.info("history totals: \(history.summary)") }
        recordEvent("stop", details: ["version": RailgateVersion.string])
        logger.notice("railgate stopped")
    }

    private static func metadata(_ counters: [StatusCounter], _ base: Logger.Metadata) -> Logger.Metadata {
        var metadata = base
        for counter in counters {
            metadata[counter.name.replacing(" ", with: "_")] = "\(counter.value)"
        }
        return metadata
    }

    /// The part of the sampling core that has not progressed for `limitNs`, if any.
    public func stalledPart(limitNs: Int64) -> String? {
        if let since = engine.sinceLastLoopNs, since > limitNs { return "tag engine (\(since / 1_000_000) ms)" }
        if let bus = south.first(where: { $0.isStalled(limitNs: limitNs) }) {
            return "\(bus.protocolName) \(bus.kind) \(bus.name)"
        }
        return nil
    }

    /// One line for `systemctl status`: tags, their quality, failing devices of every bus, MQTT.
    public func statusSummary() -> String {
        let states = table.snapshot()
        let good = states.filter { $0.sample.quality.isGood }.count
        var text = "\(good)/\(states.count) tags good"
        let bad = south.reduce(0) { sum, bus in
            sum + bus.deviceNames.indices.filter { !bus.health(device: $0).quality.isGood }.count
        }
        if bad > 0 { text += ", \(bad) device(s) failing" }
        if let mqtt { text += "; mqtt \(mqtt.statsLine)" }
        return text
    }

    /// Where tag `index` (of the gateway) comes from, in words.
    public func source(ofTag index: Int) -> String {
        guard layout.owners.indices.contains(index) else {
            guard table.tags.indices.contains(index) else { return "unknown" }
            if let alarm = engine.alarms?.definitions.first(where: { $0.output == index }), table.tags.indices.contains(alarm.tag) {
                return "state of alarm \(alarm.name) on \(table.tags[alarm.tag].path)"
            }
            return "KPI of machine \(table.tags[index].device)"
        }
        return layout.owners[index].tagSource(layout.localIndices[index])
    }

    /// A tag's value as the audit trail writes it: the value, or its quality when it has none.
    static func text(of state: TagState, _ tag: Tag) -> String {
        guard state.sample.quality.hasValue else { return "(\(state.sample.quality))" }
        return tag.kind == .string ? state.text ?? "" : state.sample.value.text(tag.kind)
    }

    /// SHA-256 of a file, so the trail shows which configuration ran.
    static func fileDigest(_ path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "unreadable" }
        return AuditTrail.sha256Hex(data)
    }

    /// The OPC UA view of the gateway: ISA-95 levels, tags and device health.
    static func model(_ configuration: Configuration, table: TagTable, devices: DeviceTable,
                      opcua: OPCUAConfig, history: HistoryStore?, alarms: AlarmEngine?) -> GatewayModel {
        var model = GatewayModel(
            namespaceUri: "urn:railgate:\(configuration.gateway.id)", hierarchy: configuration.gateway.hierarchy.levels,
            table: table, writesEnabled: opcua.writes && configuration.gateway.writesEnabled, devices: devices,
            history: history)
        model.alarms = alarms
        model.requiresReason = configuration.gateway.part11
        return model
    }

    static func identity(_ configuration: Configuration, opcua: OPCUAConfig) -> ServerIdentity {
        var identity = ServerIdentity(applicationUri: "urn:railgate:\(configuration.gateway.id)", productUri: "urn:railgate",
                       productName: "Railgate \(configuration.gateway.id)", softwareVersion: RailgateVersion.string,
                       startTime: UADateTime(unixNanoseconds: Clock.realtimeNs()),
                       maxNodesPerRequest: UInt32(opcua.maxNodesPerRequest),
                       maxMonitoredItemsPerCall: UInt32(opcua.maxNodesPerRequest), maxBrowseContinuationPoints: 16)
        identity.maxHistoryValues = UInt32(configuration.history?.maxReadValues ?? 0)
        return identity
    }
}

/// A weak reference set once and read from any thread: lets the write router tell the OPC UA
/// server of writes without the two holding each other.
final class WeakBox<Object: AnyObject & Sendable>: Sendable {
    private struct Reference: @unchecked Sendable { weak var object: Object? }
    private let reference = Mutex(Reference())

    var value: Object? {
        get { reference.withLock { $0.object } }
        set { reference.withLock { $0.object = newValue } }
    }
}
