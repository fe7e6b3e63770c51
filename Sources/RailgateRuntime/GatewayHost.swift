import Console
import Dispatch
import FoundationEssentials
import Logging
import ModbusSouth
import RailgateAudit
import RailgateConfig
import RailgateCore
import MQTTNorth
import OPCUAServer

/// Owns the running `Gateway` and replaces it on a console commit. The
/// audit trail lives here, so one chain continues across replacements.
public final class GatewayHost: GatewayControl, @unchecked Sendable {
    private let lock = Lock()
    private var gateway: Gateway
    private var text: String
    public let path: String
    private var trail: AuditTrail?
    private let logs: LogRing
    private let started = Date()
    /// Signalled by south threads; shared by successive gateways.
    private let engineWakeup = Wakeup()
    public let logger = Logger(label: "railgate")

    /// - Parameter text: the configuration text when it is not the file's (a last good copy).
    public init(configuration: Configuration, path: String, text: String? = nil, logs: LogRing) throws {
        self.path = path
        self.logs = logs
        self.text = text ?? (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        trail = try configuration.gateway.auditFile.map { file throws(AuditError) in try AuditTrail(path: file) }
        gateway = try Gateway(configuration: configuration, configPath: path, auditTrail: trail,
                              engineWakeup: engineWakeup)
    }

    public func start() throws {
        let configuration = running().configuration
        if !configuration.migrationNotes.isEmpty {
            logger.notice("configuration written for schema \(configuration.schema); read as schema \(ConfigSchema.current) with changes (update the file)",
                          metadata: ["file": "\(path)", "changes": "\(configuration.migrationNotes.map(\.description).joined(separator: "; "))"])
        }
        try current.start()
        releaseStartupGarbage()
    }

    /// Frees what start-up (or a reconfiguration) left: the heap's free pages now and once more
    /// 2 s later, when the parts that start in the background (the OPC UA server's loop, MQTT
    /// births) have let go of what they built (2.9 MB more at 10 000 tags than the first release
    /// alone); then too the file pages only start-up used — not at once, so that the first polls
    /// and publications do not fault their code in twice.
    private func releaseStartupGarbage() {
        Heap.releaseFreePages()
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) {
            Heap.releaseFreePages()
            Heap.releaseFilePages()
        }
    }

    public func stop() { current.stop() }

    public var current: Gateway {
        lock.lock()
        defer { lock.unlock() }
        return gateway
    }

    /// A request that may block longer than half the watchdog period would
    /// look like a stall: say so at start.
    public func warnAboutLongTimeouts(watchdogNs: Int64) {
        let longest = current.south.map(\.longestRequestMs).max() ?? 0
        if Int64(longest) * 1_000_000 * 2 > watchdogNs {
            logger.warning("a response timeout is longer than half the systemd watchdog period; raise WatchdogSec",
                           metadata: ["timeout_ms": "\(longest)", "watchdog_ms": "\(watchdogNs / 1_000_000)"])
        }
    }

    // MARK: GatewayControl

    public func running() -> (configuration: Configuration, text: String, path: String) {
        lock.lock()
        defer { lock.unlock() }
        return (gateway.configuration, text, path)
    }

    public func tagTable() -> TagTable { current.table }

    public func source(ofTag index: Int) -> String { current.source(ofTag: index) }

    /// Replaces the running gateway. Buses and lines whose settings and
    /// tags did not change keep polling throughout; the engine and the north
    /// side (MQTT, OPC UA) are rebuilt for the new tag set.
    public func apply(_ configuration: Configuration, text newText: String) throws {
        try apply(configuration, text: newText, change: ConfigurationChange(action: "apply", user: "railgate"))
    }

    public func apply(_ configuration: Configuration, text newText: String, change: ConfigurationChange) throws {
        lock.lock()
        defer { lock.unlock() }
        let old = gateway
        // OPC UA clients hear of it from the server they are connected to, before it makes way.
        old.opcua?.raiseConfigurationChange(action: change.action, user: change.user, file: path,
                                            digest: AuditTrail.sha256Hex(Data(newText.utf8)), comment: change.comment ?? "")
        old.stopEngineAndNorth()
        var replacement: Gateway?
        do {
            if configuration.gateway.auditFile != old.configuration.gateway.auditFile {
                trail = try configuration.gateway.auditFile.map { file throws(AuditError) in try AuditTrail(path: file) }
            }
            let next = try Gateway(configuration: configuration, configPath: path, auditTrail: trail,
                                   engineWakeup: engineWakeup, reusing: old)
            replacement = next
            let restarted = next.southBuses(notIn: old).count
            old.stopSouth(notIn: next)
            try next.start()
            gateway = next
            text = newText
            releaseStartupGarbage()
            logger.notice("configuration applied", metadata: [
                "file": "\(path)", "south_kept_running": "\(next.south.count - restarted)",
                "south_started": "\(restarted)"])
        } catch {
            logger.error("new configuration did not start; the previous one runs again", metadata: ["error": "\(error)"])
            let running = replacement ?? old
            running.stopEngineAndNorth()
            trail = try? old.configuration.gateway.auditFile.map { file throws(AuditError) in try AuditTrail(path: file) }
            let again = try Gateway(configuration: old.configuration, configPath: path, auditTrail: trail,
                                    engineWakeup: engineWakeup, reusing: running)
            running.stopSouth(notIn: again)
            try again.start()
            gateway = again
            throw error
        }
    }

    public func verifySigner(_ name: String, password: String) -> Bool {
        guard let signer = running().configuration.console?.signers.first(where: { $0.name == name }) else {
            // As long as a real check: the answer does not tell names from passwords.
            _ = PasswordHash.verify(Array(password.utf8), against: GatewayHost.decoyHash)
            return false
        }
        return PasswordHash.verify(Array(password.utf8), against: signer.passwordHash)
    }

    /// A hash no password matches, checked for unknown signers.
    private static let decoyHash = "$scrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

    public func write(path: String, value: RailgateCore.WriteValue, origin: String) -> WriteOutcome {
        write(path: path, value: value, origin: origin, reason: nil)
    }

    public func write(path: String, value: RailgateCore.WriteValue, origin: String, reason: String?) -> WriteOutcome {
        current.writes.writeAndWait(path: path, value: value, origin: origin, reason: reason)
    }

    public func audit(_ event: String, user: String, details: [(String, String)]) {
        if event == "confirm" {
            let text = running().text
            current.opcua?.raiseConfigurationChange(action: event, user: user, file: path,
                                                    digest: AuditTrail.sha256Hex(Data(text.utf8)), comment: "")
        }
        logger.notice("\(event)", metadata: ["user": "\(user)"].merging(
            Dictionary(details.filter { $0.0 != "diff" }.map { ($0.0, Logger.MetadataValue.string($0.1)) }, uniquingKeysWith: { $1 }),
            uniquingKeysWith: { $1 }))
        lock.lock()
        let trail = self.trail
        lock.unlock()
        do {
            try trail?.append(event: event, user: user, fields: details)
        } catch {
            logger.critical("audit trail not written", metadata: ["error": "\(error)"])
        }
    }

    public var auditPath: String? { running().configuration.gateway.auditFile }

    public func recentLog(_ count: Int) -> [String] { logs.last(count) }

    public func modbusRead(bus: String, unit: Int, table: ModbusTable, start: Int, count: Int) -> Result<[UInt16], ConsoleError> {
        let gateway = current
        let pollers = gateway.south.compactMap { $0 as? BusPoller }
        guard let poller = pollers.first(where: { $0.bus.name == bus }) else {
            let names = pollers.map(\.bus.name)
            return .failure(ConsoleError("no Modbus bus \"\(bus)\" (buses: \(names.isEmpty ? "none" : names.joined(separator: ", ")))"))
        }
        let answer = Answer<Result<[UInt16], ConsoleError>>()
        poller.submitDiagnosticRead(unit: unit, table: table, start: start, count: count) { result in
            answer.deliver(result.mapError { ConsoleError($0.description) })
        }
        return answer.wait(timeoutNs: Int64(poller.bus.timeoutMs) * 1_000_000 * 3 + 5_000_000_000)
            ?? .failure(ConsoleError("no answer from bus \(bus) in time"))
    }

    public func opcuaCertificates() -> [CertificateFolder]? {
        guard let pki = current.opcua?.pki else { return nil }
        return [("rejected", pki.rejectedFolder), ("trusted", pki.trustedFolder)].map { name, folder in
            CertificateFolder(name: name, path: folder.path, entries: pki.list(folder).map {
                CertificateFolder.Entry(thumbprint: $0.thumbprint, subject: $0.subject)
            })
        }
    }

    public func opcuaTrust(_ prefix: String) -> Result<String, ConsoleError> {
        guard let pki = current.opcua?.pki else {
            return .failure(ConsoleError("the OPC UA server has no secured channels (opcua.security)"))
        }
        do {
            return .success(try pki.trust(prefix))
        } catch {
            return .failure(ConsoleError(error.reason))
        }
    }

    public func testMQTT() -> (ok: Bool, text: String) {
        let configuration = running().configuration
        guard let mqtt = configuration.mqtt else { return (false, "no mqtt section in the configuration") }
        let probe = MQTTProbe.run(mqtt, gatewayID: configuration.gateway.id, logger: Logger(label: "railgate.mqtt.test"))
        let running = current.mqtt.map { "\nrunning publisher: \($0.statsLine)" } ?? ""
        return (probe.ok, probe.text + running)
    }

    public func status() -> GatewayStatus {
        let gateway = current
        let configuration = gateway.configuration
        var status = GatewayStatus(
            id: configuration.gateway.id, hierarchy: configuration.gateway.hierarchy.levels,
            version: RailgateVersion.string, uptimeSeconds: Int(Date().timeIntervalSince(started)),
            configPath: path, configDigest: Gateway.fileDigest(path), south: gateway.south.map { $0.status() },
            tagCount: gateway.table.count, writesEnabled: configuration.gateway.writesEnabled,
            north: gateway.mqtt.map { [$0.status()] } ?? [], opcuaEndpoint: configuration.opcua?.endpointUrl,
            auditPath: configuration.gateway.auditFile)
        status.history = gateway.history?.summary
        return status
    }

    public func southStatus() -> [SouthStatus] { current.south.map { $0.status() } }

    public func northStatus() -> [NorthStatus] { current.mqtt.map { [$0.status()] } ?? [] }
}
