import CANSouth
import Foundation
import Logging
import ModbusSouth
import MQTTNorth
import OPCUAServer
import ProfibusSouth
import RailgateAudit
import RailgateConfig
import RailgateCore

/// Wires one configuration into running parts: a poller thread per bus, the
/// engine thread, the MQTT sink, and the write router.
final class Gateway {
    let logger = Logger(label: "railgate")
    let configuration: Configuration
    let table: TagTable
    let engine: TagEngine
    let pollers: [BusPoller]
    let dpMasters: [DPMaster]
    let canBuses: [CANBus]
    let mqtt: (any MQTTSink)?
    let writes: WriteRouter
    let opcua: UAServer?
    let auditTrail: AuditTrail?
    /// Where each tag comes from, for the console's `show tag`.
    let tagSources: [String]
    private var engineThread: Thread?

    let configPath: String

    /// - Parameters:
    ///   - auditTrail: the trail this gateway writes to; owned by the caller
    ///     so that it outlives a gateway replaced by a commit.
    ///   - engineWakeup: what south threads signal; shared by successive
    ///     gateways so that a kept south thread wakes the new engine.
    ///   - reusing: the south threads of the gateway this one replaces; those
    ///     whose settings did not change are kept running.
    init(configuration: Configuration, configPath: String, auditTrail trail: AuditTrail?,
         engineWakeup: Wakeup = Wakeup(), reusing previous: Gateway? = nil) throws {
        self.configPath = configPath
        self.configuration = configuration
        let tags = configuration.tags()
        let table = TagTable(tags: tags)
        self.table = table
        let south = ModbusBuses(configuration: configuration, tags: tags, engineWakeup: engineWakeup,
                                logger: Logger(label: "railgate.modbus"), reusing: previous?.pollers ?? [])
        let pollers = south.pollers
        self.pollers = pollers
        tagSources = Gateway.sources(configuration)
        let profibus = ProfibusLines(configuration: configuration, firstTag: south.writeTargets.count, tags: tags,
                                     engineWakeup: engineWakeup, logger: Logger(label: "railgate.profibus"),
                                     reusing: previous?.dpMasters ?? [])
        dpMasters = profibus.masters
        let can = CANBuses(configuration: configuration, firstTag: south.writeTargets.count + profibus.writeTargets.count,
                           tags: tags, engineWakeup: engineWakeup, logger: Logger(label: "railgate.can"),
                           reusing: previous?.canBuses ?? [])
        canBuses = can.buses
        let audit = Logger(label: "railgate.audit")
        auditTrail = trail
        // Every write is in the audit trail; the log has them too, but a flood of writes (a DCMD of
        // 40 000 metrics) gives 100 lines in 10 s and a count of the rest.
        let writeLog = LogThrottle(burst: 100, intervalNs: 10_000_000_000)
        let writes = WriteRouter(table: table, writesEnabled: configuration.gateway.writesEnabled, targets: south.writeTargets + profibus.writeTargets + can.writeTargets,
                                 localIndices: south.localIndices + profibus.localIndices + can.localIndices) { record in
            if let suppressed = writeLog.admit() {
                var metadata: Logger.Metadata = [
                    "origin": "\(record.origin)", "tag": "\(record.path)", "value": "\(record.value)",
                    "outcome": "\(record.outcome)"]
                if suppressed > 0 { metadata["suppressed"] = "\(suppressed) write line(s); all are in the audit trail" }
                audit.notice("write", metadata: metadata)
            }
            // Called on the bus thread that wrote: the trail's writer thread writes and fsyncs.
            trail?.appendQueued(event: "write", user: record.origin,
                                fields: [("tag", record.path), ("value", "\(record.value)"), ("outcome", "\(record.outcome)")],
                                at: record.timestamp) { error in
                audit.critical("audit trail not written", metadata: ["error": "\(error)"])
            }
        }
        self.writes = writes
        let mqtt: (any MQTTSink)?
        let mqttLogger = Logger(label: "railgate.mqtt")
        if let config = configuration.mqtt {
            switch config.format {
            case .json:
                mqtt = try MQTTPublisher(config: config, gateway: configuration.gateway, table: table, logger: mqttLogger)
            case .sparkplug(let sparkplug):
                mqtt = try SparkplugPublisher(config: config, sparkplug: sparkplug, table: table, writes: writes,
                                              logger: mqttLogger)
            }
        } else {
            mqtt = nil
        }
        self.mqtt = mqtt
        engine = TagEngine(table: table, rings: pollers.map(\.ring) + profibus.masters.map(\.ring) + can.buses.map(\.ring),
                           ringBases: south.bases + profibus.bases + can.bases, sinks: mqtt.map { [$0.queue] } ?? [],
                           wakeup: engineWakeup, maxAgesNs: Gateway.deadlines(configuration, tagCount: tags.count))
        opcua = try configuration.opcua.map { config in
            try UAServer(config: config, model: Gateway.model(configuration, table: table, pollers: pollers,
                                                          dpMasters: profibus.masters, canBuses: can.buses, opcua: config),
                     identity: Gateway.identity(configuration, opcua: config), writes: writes,
                     logger: Logger(label: "railgate.opcua"), audit: { [trail] event, user, details in
                         do {
                             try trail?.append(event: event, user: user, fields: details)
                         } catch {
                             Logger(label: "railgate.audit").critical("audit trail not written", metadata: ["error": "\(error)"])
                         }
                     })
        }
        logger.info("configuration loaded", metadata: [
            "file": "\(configPath)", "buses": "\(configuration.buses.count + configuration.profibus.count + configuration.can.count)", "tags": "\(tags.count)",
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

    func start() throws {
        let engine = self.engine
        let thread = Thread { engine.run() }
        thread.start()
        engineThread = thread
        try mqtt?.start()
        try opcua?.start()
        for poller in pollers { poller.start() }
        for master in dpMasters { master.start() }
        for bus in canBuses { bus.start() }
        recordEvent("start", details: ["version": RailgateVersion.string, "config": configPath,
                                       "config_sha256": Gateway.fileDigest(configPath)])
        logger.notice("railgate running", metadata: ["version": "\(RailgateVersion.string)",
                                                     "gateway": "\(configuration.gateway.id)"])
    }

    /// South threads that `other` does not run too.
    func southThreads(notIn other: Gateway?) -> (pollers: [BusPoller], masters: [DPMaster], can: [CANBus]) {
        let keptPollers = Set((other?.pollers ?? []).map(ObjectIdentifier.init))
        let keptMasters = Set((other?.dpMasters ?? []).map(ObjectIdentifier.init))
        let keptCAN = Set((other?.canBuses ?? []).map(ObjectIdentifier.init))
        return (pollers.filter { !keptPollers.contains(ObjectIdentifier($0)) },
                dpMasters.filter { !keptMasters.contains(ObjectIdentifier($0)) },
                canBuses.filter { !keptCAN.contains(ObjectIdentifier($0)) })
    }

    /// Stops the south threads that `replacement` does not keep running.
    func stopSouth(notIn replacement: Gateway?) {
        let (pollers, masters, can) = southThreads(notIn: replacement)
        for poller in pollers { poller.stop() }
        for master in masters { master.stop() }
        for bus in can { bus.stop() }
    }

    /// Stops the engine (after a last drain) and the north side: OPC UA, then
    /// MQTT (publishes what is queued and goes offline).
    func stopEngineAndNorth() {
        engine.stop()
        opcua?.stop()
        mqtt?.stop()
    }

    /// Stops south first (no new samples), then the engine and north.
    func stop() {
        stopSouth(notIn: nil)
        stopEngineAndNorth()
        for poller in pollers {
            for stats in poller.stats {
                logger.info("device totals", metadata: [
                    "device": "\(stats.device)", "cycles": "\(stats.cycles)", "requests": "\(stats.requests)",
                    "errors": "\(stats.errors)", "writes": "\(stats.writes)"])
            }
        }
        for master in dpMasters {
            let line = master.lineStats
            let cycles = max(1, line.cycles)
            logger.info("profibus line totals", metadata: [
                "line": "\(master.line.name)", "cycles": "\(line.cycles)",
                "cpu_us_per_cycle": "\(line.cpuNs / 1000 / Int64(cycles))",
                "wall_us_per_cycle": "\(line.wallNs / 1000 / Int64(cycles))",
                "octets_per_cycle": "\(line.octets / cycles)", "octets": "\(line.octets)", "cpu_ns": "\(line.cpuNs)",
                "wall_ns": "\(line.wallNs)"])
            for stats in master.stats {
                logger.info("slave totals", metadata: [
                    "slave": "\(stats.device)", "address": "\(stats.address)", "cycles": "\(stats.cycles)",
                    "requests": "\(stats.requests)", "errors": "\(stats.errors)", "retries": "\(stats.retries)",
                    "fcs_errors": "\(stats.fcsErrors)", "restarts": "\(stats.restarts)", "writes": "\(stats.writes)"])
            }
        }
        for bus in canBuses {
            let stats = bus.stats
            logger.info("can bus totals", metadata: [
                "bus": "\(bus.bus.name)", "frames": "\(stats.frames)", "unknown": "\(stats.unknown)",
                "error_frames": "\(stats.errorFrames)", "short_frames": "\(stats.shortFrames)",
                "timeouts": "\(stats.timeouts)", "writes": "\(stats.writes)"])
        }
        if let mqtt {
            logger.info("mqtt totals: \(mqtt.statsLine)")
        }
        recordEvent("stop", details: ["version": RailgateVersion.string])
        logger.notice("railgate stopped")
    }

    /// The part of the sampling core that has not progressed for `limitNs`, if any.
    func stalledPart(limitNs: Int64) -> String? {
        if let since = engine.sinceLastLoopNs, since > limitNs { return "tag engine (\(since / 1_000_000) ms)" }
        if let poller = pollers.first(where: { $0.isStalled(limitNs: limitNs) }) { return "bus \(poller.bus.name)" }
        if let master = dpMasters.first(where: { $0.isStalled(limitNs: limitNs) }) { return "PROFIBUS line \(master.line.name)" }
        if let bus = canBuses.first(where: { $0.isStalled(limitNs: limitNs) }) { return "CAN bus \(bus.bus.name)" }
        return nil
    }

    /// One line for `systemctl status`: tags, their quality, MQTT.
    func statusSummary() -> String {
        let states = table.snapshot()
        let good = states.filter { $0.sample.quality.isGood }.count
        var text = "\(good)/\(states.count) tags good"
        let bad = pollers.flatMap(\.stats).filter { !$0.quality.isGood }.count
            + dpMasters.flatMap(\.stats).filter { !$0.quality.isGood }.count
        if bad > 0 { text += ", \(bad) device(s) failing" }
        if let mqtt { text += "; mqtt \(mqtt.statsLine)" }
        return text
    }

    /// Each tag's deadline for the engine (TagEngine `maxAgesNs`), in the order of
    /// `configuration.tags()`: the longest its bus may take to read it again — three poll
    /// intervals plus the bus's cycle with every read timing out — and 5 s at least. A good value
    /// older than that goes Bad (timeout). CAN tags have none here: their messages' own timeouts
    /// make them bad (CANBus).
    static func deadlines(_ configuration: Configuration, tagCount: Int) -> [Int64] {
        let floor: Int64 = 5_000_000_000
        var deadlines: [Int64] = []
        for bus in configuration.buses {
            let worstCycleMs = bus.devices.reduce(0) { sum, device in
                sum + ReadPlan(device: device, firstTag: 0).reads.count * bus.timeoutMs
            }
            for device in bus.devices {
                let ms = Int64(3 * device.pollMs + worstCycleMs)
                deadlines += Array(repeating: max(floor, ms * 1_000_000), count: device.tags.count)
            }
        }
        for line in configuration.profibus {
            let worstCycleMs = line.cycleMs + line.slaves.count * (line.retries + 1) * line.responseTimeoutMs
            let ms = Int64(3 * line.cycleMs + worstCycleMs)
            for slave in line.slaves {
                deadlines += Array(repeating: max(floor, ms * 1_000_000), count: slave.tags.count)
            }
        }
        // The CAN tags come last; exactly one deadline per tag whatever the configuration holds.
        deadlines += Array(repeating: 0, count: max(0, tagCount - deadlines.count))
        return Array(deadlines.prefix(tagCount))
    }

    static func sources(_ configuration: Configuration) -> [String] {
        var sources: [String] = []
        for bus in configuration.buses {
            let link = switch bus.link {
            case .tcp(let host, let port): "modbus-tcp \(host):\(port)"
            case .rtu(let serial): "modbus-rtu \(serial.device)"
            }
            for device in bus.devices {
                for tag in device.tags {
                    let bit = tag.bit.map { " bit \($0)" } ?? ""
                    sources.append("bus \(bus.name) (\(link)), unit \(device.unit), \(tag.table) \(tag.address)\(bit), \(tag.type) \(tag.order)")
                }
            }
        }
        for line in configuration.profibus {
            for slave in line.slaves {
                for tag in slave.tags {
                    let bit = tag.type == .bool ? " bit \(tag.bit)" : ""
                    sources.append("PROFIBUS line \(line.name) (\(line.serial.device)), slave \(slave.address), \(tag.area) octet \(tag.byte)\(bit), \(tag.type) \(tag.order)")
                }
            }
        }
        for bus in configuration.can {
            let link = switch bus.source {
            case .interface(let name): "SocketCAN \(name)"
            case .seqpacket(let path): "seqpacket \(path)"
            }
            for device in bus.devices {
                for (index, signal) in CANBusConfig.signals(of: device) {
                    let message = device.messages[index]
                    let id = String(message.id, radix: 16, uppercase: true)
                    sources.append("CAN bus \(bus.name) (\(link)), message \(message.name) (0x\(id)\(message.extended ? " extended" : "")), signal \(signal.name) bits \(signal.startBit)+\(signal.length)")
                }
            }
        }
        return sources
    }

    /// SHA-256 of a file, so the trail shows which configuration ran.
    static func fileDigest(_ path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "unreadable" }
        return AuditTrail.sha256Hex(data)
    }

    /// The OPC UA view of the gateway: ISA-95 levels, tags and device health.
    static func model(_ configuration: Configuration, table: TagTable, pollers: [BusPoller], dpMasters: [DPMaster],
                      canBuses: [CANBus], opcua: OPCUAConfig) -> GatewayModel {
        var owners: [String: (BusPoller, Int)] = [:]
        for poller in pollers {
            for (index, device) in poller.bus.devices.enumerated() { owners[device.name] = (poller, index) }
        }
        var slaves: [String: (DPMaster, Int)] = [:]
        for master in dpMasters {
            for (index, slave) in master.line.slaves.enumerated() { slaves[slave.name] = (master, index) }
        }
        var canDevices: [String: (CANBus, Int)] = [:]
        for bus in canBuses {
            for (index, device) in bus.bus.devices.enumerated() { canDevices[device.name] = (bus, index) }
        }
        let devices = owners
        let dpSlaves = slaves
        let can = canDevices
        return GatewayModel(
            namespaceUri: "urn:railgate:\(configuration.gateway.id)", hierarchy: configuration.gateway.hierarchy.levels,
            table: table, writesEnabled: opcua.writes && configuration.gateway.writesEnabled,
            deviceHealth: { name in
                if let (bus, index) = can[name] { return bus.health(device: index) }
                if let (master, index) = dpSlaves[name] {
                    let stats = master.stats[index]
                    return DeviceHealth(quality: stats.quality, requests: stats.requests, errors: stats.errors,
                                        lastError: stats.lastFault, lastCycleNs: stats.lastCycleNs)
                }
                guard let (poller, index) = devices[name] else { return nil }
                let stats = poller.stats[index]
                return DeviceHealth(quality: stats.quality, requests: stats.requests, errors: stats.errors,
                                    lastError: stats.lastError, lastCycleNs: stats.lastCycleNs)
            })
    }

    static func identity(_ configuration: Configuration, opcua: OPCUAConfig) -> ServerIdentity {
        ServerIdentity(applicationUri: "urn:railgate:\(configuration.gateway.id)", productUri: "urn:railgate",
                       productName: "Railgate \(configuration.gateway.id)", softwareVersion: RailgateVersion.string,
                       startTime: UADateTime(unixNanoseconds: Clock.realtimeNs()),
                       maxNodesPerRequest: UInt32(opcua.maxNodesPerRequest),
                       maxMonitoredItemsPerCall: UInt32(opcua.maxNodesPerRequest), maxBrowseContinuationPoints: 16)
    }
}
