import FoundationEssentials
import RailgateCore
import RailgateYAML

extension Configuration {
    /// Reads and validates a configuration file.
    /// - Throws: `ConfigError` listing every problem with its YAML path and line.
    public static func load(file: String) throws(ConfigError) -> Configuration {
        let text: String
        do {
            text = try ConfigText.text(of: file)
        } catch {
            throw ConfigError(file: file, issues: [ConfigIssue(path: "", line: error.line, message: error.message)])
        }
        do {
            return try load(yaml: text, baseDirectory: Path.directory(of: file))
        } catch let error {
            throw ConfigError(file: file, issues: error.issues)
        }
    }

    /// Parses and validates configuration text. Relative file names in it
    /// (GSD files) are taken from `baseDirectory`.
    /// - Throws: `ConfigError` listing every problem with its YAML path and line.
    public static func load(yaml: String, baseDirectory: String = ".") throws(ConfigError) -> Configuration {
        let root: Node?
        do {
            root = try ConfigText.compose(yaml)
        } catch {
            throw ConfigError(issues: [ConfigIssue(path: "", line: error.line, message: error.message)])
        }
        guard var root, root.mapping != nil else {
            throw ConfigError(issues: [ConfigIssue(path: "", line: 1, message: "the file must be a YAML mapping with a gateway section")])
        }
        var notes: [ConfigSchema.Note] = []
        let schema = ConfigSchema.migrate(&root, notes: &notes)
        let log = IssueLog()
        let reader = NodeReader(node: root, path: "", log: log)
        reader.rejectUnknownKeys(["schema", "gateway", "mqtt", "opcua", "south", "console", "maps", "identity", "kpi",
                                  "history", "alarms"])
        if schema == nil {
            reader.issue("schema", "schema must be a version from 1 to \(ConfigSchema.current) (this release reads those)")
        }
        let gateway = readGateway(reader)
        let maps = readMaps(reader)
        let mqtt = reader.mapping("mqtt").map { readMQTT($0, defaultClientID: gateway?.id ?? "railgate") }
        let opcua = reader.mapping("opcua").flatMap { readOPCUA($0, schema: schema ?? ConfigSchema.current) }
        let console = reader.mapping("console").map(readConsole)
        let board = reader.mapping("gateway").flatMap { BoardProfile.load($0, baseDirectory: baseDirectory) }
        var buses: [BusConfig] = []
        var lines: [ProfibusLineConfig] = []
        var can: [CANBusConfig] = []
        for bus in reader.sequence("south", required: true) {
            if bus.child("protocol")?.scalar?.string == "can" {
                if let line = readCANBus(bus, baseDirectory: baseDirectory) { can.append(line) }
            } else if bus.child("protocol")?.scalar?.string == "profibus-dp" {
                if let line = readProfibusLine(bus, baseDirectory: baseDirectory, board: board) { lines.append(line) }
            } else if let modbus = readBus(bus, profiles: profileSearchPath(reader, baseDirectory: baseDirectory), board: board) {
                buses.append(modbus)
            }
        }
        checkUniqueNames(buses, lines, can, reader: reader)
        let deviceNames = buses.flatMap { $0.devices.map(\.name) } + lines.flatMap { $0.slaves.map(\.name) }
            + can.flatMap { $0.devices.map(\.name) }
        let identities = readIdentities(reader, devices: deviceNames)
        var kpi: KPIConfig?
        if let gateway, reader.child("kpi") != nil {
            var south = Configuration(gateway: gateway, mqtt: nil, opcua: nil, buses: buses, profibus: lines)
            south.can = can
            kpi = readKPI(reader, south: south.tags(), devices: Set(deviceNames))
        }
        var alarms: [AlarmConfig] = []
        var history: HistoryConfig?
        if let gateway, reader.child("history") != nil || reader.child("alarms") != nil {
            var all = Configuration(gateway: gateway, mqtt: nil, opcua: nil, buses: buses, profibus: lines)
            all.can = can
            all.kpi = kpi
            if reader.child("alarms") != nil {
                alarms = readAlarms(reader, tags: all.tags())
                all.alarms = alarms
            }
            if reader.child("history") != nil { history = readHistory(reader, tags: all.tags()) }
        }
        if gateway?.part11 == true, let console, console.signers.isEmpty {
            reader.issue("console", "Part 11 mode signs commits: list console.signers [{name, password_hash}] (hashes from `railgate hash-password`)")
        }
        guard log.issues.isEmpty, let gateway else {
            throw ConfigError(issues: log.issues)
        }
        var configuration = Configuration(gateway: gateway, mqtt: mqtt ?? nil, opcua: opcua, buses: buses, profibus: lines,
                                          console: console)
        configuration.can = can
        configuration.maps = maps
        configuration.identities = identities
        configuration.kpi = kpi
        configuration.history = history
        configuration.alarms = alarms
        configuration.schema = schema ?? ConfigSchema.current
        configuration.migrationNotes = notes
        return configuration
    }

    /// Where device profiles are looked up: `gateway.profile_dirs` (relative
    /// to the configuration file), then `profiles/` beside it, then the system
    /// directories the package fills.
    static func profileSearchPath(_ root: NodeReader, baseDirectory: String) -> [String] {
        var directories: [String] = []
        if let list = root.child("gateway")?.mapping?["profile_dirs"]?.sequence {
            for item in list {
                guard let dir = item.string else { continue }
                directories.append(Path.join(baseDirectory, dir))
            }
        }
        directories.append(Path.join(baseDirectory, "profiles"))
        directories += ["/etc/railgate/profiles", "/usr/share/railgate/profiles"]
        return directories
    }

    /// Names used in paths and topics: letters, digits, `_`, `-`, `.`.
    static func checkName(_ reader: NodeReader, _ key: String, required: Bool = true) -> String? {
        guard let name = reader.string(key, required: required) else { return nil }
        guard isName(name) else {
            reader.issue(key, "\"\(name)\" may contain only letters, digits, _, - and . (it becomes part of tag paths and MQTT topics)")
            return nil
        }
        return name
    }

    /// Letters, digits, `_`, `-` and `.` only.
    static func isName(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)
        }
    }

    private static func readGateway(_ root: NodeReader) -> GatewayConfig? {
        guard let reader = root.mapping("gateway", required: true) else { return nil }
        reader.rejectUnknownKeys(["id", "isa95", "writes", "audit_file", "profile_dirs", "board", "part11"])
        let id = checkName(reader, "id")
        var hierarchy: ISA95Hierarchy?
        if let isa95 = reader.mapping("isa95", required: true) {
            isa95.rejectUnknownKeys(["enterprise", "site", "area", "line", "cell"])
            let enterprise = checkName(isa95, "enterprise")
            hierarchy = enterprise.map {
                ISA95Hierarchy(enterprise: $0, site: checkName(isa95, "site", required: false),
                               area: checkName(isa95, "area", required: false),
                               line: checkName(isa95, "line", required: false),
                               cell: checkName(isa95, "cell", required: false))
            }
        }
        let writes = reader.bool("writes") ?? false
        guard let id, let hierarchy else { return nil }
        var config = GatewayConfig(id: id, hierarchy: hierarchy, writesEnabled: writes, auditFile: reader.string("audit_file"))
        config.part11 = reader.bool("part11") ?? false
        if config.part11 && config.auditFile == nil {
            reader.issue("part11", "Part 11 mode keeps its records in the audit trail: set gateway.audit_file")
        }
        return config
    }

    private static func readMQTT(_ reader: NodeReader, defaultClientID: String) -> MQTTConfig? {
        reader.rejectUnknownKeys(["host", "port", "client_id", "username", "password", "qos", "retain",
                                  "topic_prefix", "keepalive", "reconnect_min_s", "reconnect_max_s", "format", "sparkplug",
                                  "journal", "tls", "clean_session", "backup_brokers", "failover_s", "device_topics"])
        let host = reader.string("host", required: true)
        let prefix = reader.string("topic_prefix") ?? "railgate"
        if prefix.contains(where: { $0 == "+" || $0 == "#" }) {
            reader.issue("topic_prefix", "must not contain MQTT wildcards + or #")
        }
        let config = MQTTConfig(
            host: host ?? "",
            port: reader.int("port", range: 1...65535) ?? 1883,
            clientID: reader.string("client_id") ?? defaultClientID,
            username: reader.string("username"),
            password: reader.scalar("password"),
            qos: reader.int("qos", range: 0...2) ?? 1,
            retain: reader.bool("retain") ?? true,
            topicPrefix: prefix,
            keepaliveSeconds: reader.int("keepalive", range: 5...65535) ?? 30,
            reconnectMinSeconds: reader.int("reconnect_min_s", range: 1...3600) ?? 1,
            reconnectMaxSeconds: reader.int("reconnect_max_s", range: 1...3600) ?? 30,
            format: readFormat(reader, defaultEdgeNode: defaultClientID),
            journal: reader.mapping("journal").flatMap(readJournal),
            tls: reader.mapping("tls").flatMap(readTLS),
            cleanSession: reader.bool("clean_session") ?? true,
            backups: reader.sequence("backup_brokers").compactMap { backup in
                backup.rejectUnknownKeys(["host", "port"])
                guard let host = backup.string("host", required: true) else { return nil }
                return BrokerEndpoint(host: host, port: backup.int("port", range: 1...65535) ?? 1883)
            },
            failoverSeconds: reader.int("failover_s", range: 1...3600) ?? 30,
            topicsByEquipment: readDeviceTopics(reader))
        return host == nil ? nil : config
    }

    /// `device_topics`: `name` (the device's name in topics) or `equipment` (its equipment id).
    private static func readDeviceTopics(_ reader: NodeReader) -> Bool {
        switch reader.string("device_topics") {
        case nil, "name": return false
        case "equipment": return true
        case let other?:
            reader.issue("device_topics", "unknown choice \"\(other)\" (expected name or equipment)")
            return false
        }
    }

    private static func readConsole(_ reader: NodeReader) -> ConsoleConfig {
        reader.rejectUnknownKeys(["socket", "group", "history", "history_dir", "signers"])
        var config = ConsoleConfig(socket: reader.string("socket") ?? "/run/railgate/control.sock",
                                   group: reader.string("group") ?? "railgate",
                                   historyDirectory: reader.string("history_dir") ?? "/var/lib/railgate/configs",
                                   history: reader.int("history", range: 1...100) ?? 10)
        var names = Set<String>()
        config.signers = reader.sequence("signers").compactMap { signer in
            signer.rejectUnknownKeys(["name", "password_hash"])
            guard let name = signer.string("name", required: true), let hash = signer.scalar("password_hash", required: true) else {
                return nil
            }
            if !names.insert(name).inserted {
                signer.issue("name", "signer \"\(name)\" is listed twice")
                return nil
            }
            if let problem = PasswordHashFormat.problem(hash) {
                signer.issue("password_hash", problem)
                return nil
            }
            return ConsoleConfig.Signer(name: name, passwordHash: hash)
        }
        return config
    }

    private static func readTLS(_ reader: NodeReader) -> MQTTTLSConfig? {
        reader.rejectUnknownKeys(["ca_file", "cert_file", "key_file", "insecure"])
        let ca = reader.string("ca_file", required: true)
        let cert = reader.string("cert_file")
        let key = reader.string("key_file")
        if (cert == nil) != (key == nil) {
            reader.issue(cert == nil ? "key_file" : "cert_file", "cert_file and key_file go together")
        }
        guard let ca else { return nil }
        return MQTTTLSConfig(caFile: ca, certFile: cert, keyFile: key, insecure: reader.bool("insecure") ?? false)
    }

    private static func readJournal(_ reader: NodeReader) -> JournalConfig? {
        reader.rejectUnknownKeys(["dir", "max_mb", "segment_kb", "fsync", "fsync_interval_ms"])
        let directory = reader.string("dir", required: true)
        let maxMB = reader.int("max_mb", range: 1...1_000_000) ?? 64
        let segmentKB = reader.int("segment_kb", range: 4...1_048_576) ?? 1024
        if segmentKB * 1024 > maxMB * 1024 * 1024 {
            reader.issue("segment_kb", "a segment (\(segmentKB) KiB) must fit in max_mb (\(maxMB) MiB)")
        }
        var sync = JournalConfig.Sync.interval(ms: reader.int("fsync_interval_ms", range: 1...60_000) ?? 1000)
        switch reader.string("fsync") {
        case nil, "interval": break
        case "always": sync = .always
        case "never": sync = .never
        case let other?: reader.issue("fsync", "unknown fsync policy \"\(other)\" (expected always, interval or never)")
        }
        guard let directory else { return nil }
        return JournalConfig(directory: directory, maxBytes: maxMB * 1024 * 1024, segmentBytes: segmentKB * 1024, sync: sync)
    }

    private static func readFormat(_ reader: NodeReader, defaultEdgeNode: String) -> MQTTFormat {
        let format = reader.string("format") ?? "json"
        switch format {
        case "json":
            if reader.child("sparkplug") != nil { reader.issue("sparkplug", "sparkplug settings need format: sparkplug") }
            return .json
        case "sparkplug":
            let section = reader.mapping("sparkplug", required: true)
            section?.rejectUnknownKeys(["group_id", "edge_node_id", "primary_host_id"])
            // Sparkplug B 3.0 §4.1.1: ids are UTF-8 without '+', '/' or '#'.
            func id(_ key: String, required: Bool) -> String? {
                guard let value = section?.string(key, required: required) else { return nil }
                if value.contains(where: { "+/#".contains($0) }) {
                    section?.issue(key, "\"\(value)\" must not contain +, / or #")
                    return nil
                }
                return value
            }
            let group = id("group_id", required: true)
            let edge = id("edge_node_id", required: false) ?? defaultEdgeNode
            let host = id("primary_host_id", required: false)
            return .sparkplug(SparkplugConfig(groupId: group ?? "", edgeNodeId: edge, primaryHostId: host))
        default:
            reader.issue("format", "unknown format \"\(format)\" (expected json or sparkplug)")
            return .json
        }
    }

    private static func checkUniqueNames(_ buses: [BusConfig], _ lines: [ProfibusLineConfig], _ can: [CANBusConfig],
                                         reader: NodeReader) {
        var busNames: Set<String> = []
        var deviceNames: Set<String> = []
        let all = buses.map { ($0.name, $0.line, $0.devices.map(\.name)) } + lines.map { ($0.name, $0.line, $0.slaves.map(\.name)) }
            + can.map { ($0.name, $0.line, $0.devices.map(\.name)) }
        for (name, line, devices) in all {
            if !busNames.insert(name).inserted {
                reader.log.add(path: "south", line: line, message: "duplicate bus name \"\(name)\"")
            }
            for device in devices where !deviceNames.insert(device).inserted {
                reader.log.add(path: "south", line: line,
                               message: "duplicate device name \"\(device)\" (device names are unique per gateway)")
            }
        }
    }
}
