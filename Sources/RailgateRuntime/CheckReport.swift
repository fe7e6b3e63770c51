import FoundationEssentials
import RailgateConfig
import RailgateCore

/// What `railgate check` prints of an accepted configuration: schema notes, the gateway, every
/// south protocol's buses and devices (each protocol describes its own: the Modbus read plans,
/// the PROFIBUS-DP slaves' parameters and configuration, the CAN messages), then north.
public enum CheckReport {
    public static func text(_ configuration: Configuration) -> String {
        var lines: [String] = []
        if !configuration.migrationNotes.isEmpty {
            lines.append("schema \(configuration.schema) → \(ConfigSchema.current): read with these changes (update the file and add schema: \(ConfigSchema.current)):")
            lines += configuration.migrationNotes.map { "  \($0)" }
        }
        let wakeup = Wakeup()
        let buses = SouthRegistry.factories.reduce(0) { $0 + $1.plans(configuration, wakeup).count }
        let tags = configuration.tags()
        lines.append("gateway \(configuration.gateway.id): \(buses) bus(es), \(tags.count) tags; writes \(configuration.gateway.writesEnabled ? "enabled" : "disabled")")
        for factory in SouthRegistry.factories { lines += factory.describe(configuration) }
        lines += mesLines(configuration, tags: tags)
        if let mqtt = configuration.mqtt {
            let device = mqtt.topicsByEquipment && !configuration.identities.isEmpty ? "<work center>/<equipment id>" : "<device>"
            lines.append("mqtt: \(mqtt.host):\(mqtt.port) qos \(mqtt.qos), topics \(mqtt.topicPrefix)/\(configuration.gateway.hierarchy.levels.joined(separator: "/"))/\(device)/<tag>")
        }
        if let opcua = configuration.opcua {
            let security = opcua.security.map { "security \($0.policies.joined(separator: ", ")) (\($0.modes.joined(separator: ", ")))" }
                ?? "security None"
            lines.append("opcua: \(opcua.endpointUrl) (listening on \(opcua.host):\(opcua.port)), \(security), anonymous \(opcua.anonymous ? "allowed" : "refused"), \(opcua.users.count) user(s), writes \(opcua.writes ? "enabled" : "disabled")")
        }
        lines += historyLines(configuration, tags: tags)
        lines += alarmLines(configuration, tags: tags)
        return lines.joined(separator: "\n")
    }

    /// One line per alarm: its state tag, what it watches, its limits or normal values.
    static func alarmLines(_ configuration: Configuration, tags: [Tag]) -> [String] {
        let definitions = configuration.alarmDefinitions(tags: tags)
        guard !definitions.isEmpty else { return [] }
        var lines = ["alarms: \(definitions.count), each an OPC UA condition and a state tag"]
        for alarm in definitions {
            guard let output = alarm.output, tags.indices.contains(output), tags.indices.contains(alarm.tag) else { continue }
            let watched = tags[alarm.tag]
            let rule: String
            switch alarm.kind {
            case .limit(let highHigh, let high, let low, let lowLow, let deadband):
                let limits = [("high_high", highHigh), ("high", high), ("low", low), ("low_low", lowLow)]
                    .compactMap { name, value in value.map { "\(name) \($0)" } }
                rule = "limits " + limits.joined(separator: ", ") + (deadband > 0 ? ", deadband \(deadband)" : "")
            case .offNormal(let normal):
                rule = "normal " + normal.map { "\($0)" }.joined(separator: ", ")
            }
            lines.append("  \(tags[output].device)/\(tags[output].name): \(watched.device)/\(watched.name) \(rule), severity \(alarm.severity)")
        }
        return lines
    }

    /// The history section: where, how much on disk, which tags with their retention.
    static func historyLines(_ configuration: Configuration, tags: [Tag]) -> [String] {
        guard let history = configuration.history else { return [] }
        let historized = configuration.historizedTags(tags)
        let bytes = historized.reduce(0) { $0 + HistoryConfig.fileBytes(values: $1.maxValues) }
        var lines = ["history: \(history.directory), \(historized.count) tag(s), \((bytes + (1 << 20) - 1) >> 20) of \(history.maxBytes >> 20) MiB on disk, fsync every \(history.syncIntervalMs) ms, at most \(history.maxReadValues) values per HistoryRead"]
        for entry in historized {
            let tag = tags[entry.index]
            let age = entry.maxAgeNs.map { ", at most \($0 / 3_600_000_000_000) h old" } ?? ""
            lines.append("  \(tag.device)/\(tag.name): the newest \(entry.maxValues) values\(age)")
        }
        return lines
    }

    /// Code maps, equipment identities and KPI machines, a line each.
    static func mesLines(_ configuration: Configuration, tags: [Tag]) -> [String] {
        var lines: [String] = []
        for name in configuration.maps.keys.sorted() {
            let users = tags.filter { $0.codes?.name == name }.map { "\($0.device)/\($0.name)" }
            lines.append("map \(name): \(configuration.maps[name]?.count ?? 0) code(s), used by \(users.isEmpty ? "no tag" : users.joined(separator: ", "))")
        }
        for device in configuration.identities.keys.sorted() {
            guard let identity = configuration.identities[device] else { continue }
            lines.append("equipment \(identity.equipmentId): device \(device), \(identity.level)"
                         + (identity.workCenter.map { " in work center \($0)" } ?? ""))
        }
        if let kpi = configuration.kpi {
            func time(_ second: Int) -> String {
                let text = UTCText.pad(second / 3600, 2) + ":" + UTCText.pad(second / 60 % 60, 2)
                return second % 60 == 0 ? text : text + ":" + UTCText.pad(second % 60, 2)
            }
            lines.append("shifts: " + kpi.shifts.map { "\($0.name) \(time($0.startSecond))–\(time($0.endSecond))" }.joined(separator: ", ")
                         + "; rolling \(kpi.rollingMinutes) min; state \(kpi.stateFile ?? "not kept across restarts")")
            for machine in kpi.machines {
                let quality = machine.goodTag.map { "good \($0)" } ?? machine.scrapTag.map { "scrap \($0)" } ?? "no quality counter"
                lines.append("kpi \(machine.name): state \(machine.stateTag), total \(machine.totalTag), \(quality), ideal cycle \(Double(machine.idealCycleNs) / 1e9) s → \(KPIOutput.allCases.count) tags")
            }
        }
        return lines
    }
}
