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
        lines.append("gateway \(configuration.gateway.id): \(buses) bus(es), \(configuration.tags().count) tags; writes \(configuration.gateway.writesEnabled ? "enabled" : "disabled")")
        for factory in SouthRegistry.factories { lines += factory.describe(configuration) }
        if let mqtt = configuration.mqtt {
            lines.append("mqtt: \(mqtt.host):\(mqtt.port) qos \(mqtt.qos), topics \(mqtt.topicPrefix)/\(configuration.gateway.hierarchy.levels.joined(separator: "/"))/<device>/<tag>")
        }
        if let opcua = configuration.opcua {
            let security = opcua.security.map { "security \($0.policies.joined(separator: ", ")) (\($0.modes.joined(separator: ", ")))" }
                ?? "security None"
            lines.append("opcua: \(opcua.endpointUrl) (listening on \(opcua.host):\(opcua.port)), \(security), anonymous \(opcua.anonymous ? "allowed" : "refused"), \(opcua.users.count) user(s), writes \(opcua.writes ? "enabled" : "disabled")")
        }
        return lines.joined(separator: "\n")
    }
}
