import RailgateCore

/// The console's text for `show status`, `show devices` and `show stats`, from the runtime's
/// structured status of the gateway, every south bus and every north connection: one format for
/// every protocol.
public enum StatusReport {
    /// `show status`: one line per subject, its name padded to ten columns.
    public static func statusLines(_ status: GatewayStatus) -> [String] {
        let up = status.uptimeSeconds
        var lines = [
            "gateway   \(status.id) (\(status.hierarchy.joined(separator: "/")))",
            "version   \(status.version), up \(up / 3600)h\(up / 60 % 60)m\(up % 60)s",
            "config    \(status.configPath) sha256 \(status.configDigest.prefix(16))…",
            "south     \(southSummary(status.south)), \(status.tagCount) tags",
            "writes    \(status.writesEnabled ? "enabled" : "disabled")",
        ]
        for north in status.north {
            lines.append("\(north.name.padded(to: 10))\(north.broker) \(north.connected ? "connected" : "not connected"), \(north.countersText)")
        }
        if let endpoint = status.opcuaEndpoint { lines.append("opcua     \(endpoint)") }
        if let audit = status.auditPath { lines.append("audit     \(audit)") }
        if let history = status.history { lines.append("history   \(history)") }
        return lines
    }

    /// How many buses of each protocol run: `2 modbus-tcp bus(es), 1 can bus(es)`, or `no buses`.
    public static func southSummary(_ south: [SouthStatus]) -> String {
        var counts: [(String, Int)] = []
        for bus in south {
            let what = "\(bus.protocolName) \(bus.kind == "line" ? "line(s)" : "bus(es)")"
            if let index = counts.firstIndex(where: { $0.0 == what }) {
                counts[index].1 += 1
            } else {
                counts.append((what, 1))
            }
        }
        return counts.isEmpty ? "no buses" : counts.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
    }

    /// One line per device: name, where it sits, its state, quality and counts, its last error.
    public static func deviceLines(_ south: [SouthStatus]) -> [String] {
        var lines: [String] = []
        for bus in south {
            for device in bus.devices {
                let state = device.state.map { "\($0)  " } ?? ""
                let health = device.health
                lines.append("\(device.name.padded(to: 16)) \(bus.kind) \(bus.name) \(device.address)  \(state)\(health.quality)  requests \(health.requests) errors \(health.errors)\(health.lastError.map { "  last: \($0)" } ?? "")")
            }
        }
        return lines.isEmpty ? ["no devices"] : lines
    }

    /// A bus's own counters on one line, then one line per device (indented under a bus that
    /// has counters of its own); then a line per north connection.
    public static func statsLines(_ south: [SouthStatus], north: [NorthStatus]) -> [String] {
        var lines: [String] = []
        for bus in south {
            let indent: String
            if bus.counters.isEmpty && bus.lastCycleNs == nil && bus.lastError == nil {
                indent = ""
            } else {
                indent = "  "
                lines.append("\(bus.kind) \(bus.name): \(counted(bus.counters, lastCycleNs: bus.lastCycleNs))\(bus.lastError.map { "  last error: \($0)" } ?? "")")
            }
            for device in bus.devices {
                lines.append("\(indent)\(device.name): \(counted(device.counters, lastCycleNs: device.health.lastCycleNs))")
            }
        }
        return lines + north.map { "\($0.name): \($0.connected ? "connected" : "not connected") \($0.countersText)" }
    }

    private static func counted(_ counters: [StatusCounter], lastCycleNs: Int64?) -> String {
        var parts = counters.map { "\($0.name) \($0.value)" }
        if let lastCycleNs, lastCycleNs > 0 { parts.append("last cycle \(lastCycleNs / 1000) µs") }
        return parts.joined(separator: " ")
    }

    /// `opcua certificates`: each folder with its count, then its certificates, indented.
    public static func certificateLines(_ folders: [CertificateFolder]) -> [String] {
        var lines: [String] = []
        for folder in folders {
            lines.append("\(folder.name) (\(folder.path)): \(folder.entries.isEmpty ? "none" : "\(folder.entries.count)")")
            for entry in folder.entries { lines.append("  \(entry.thumbprint)  \(entry.subject)") }
        }
        return lines
    }
}
