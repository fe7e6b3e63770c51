import RailgateCore

/// The console's text for `show devices` and `show stats`, from the runtime's structured status
/// of every south bus: one format for every protocol.
public enum SouthReport {
    /// One line per device: name, where it sits, its state, quality and counts, its last error.
    public static func deviceLines(_ south: [SouthStatus]) -> [String] {
        var lines: [String] = []
        for bus in south {
            for device in bus.devices {
                let state = device.state.map { "\($0)  " } ?? ""
                let health = device.health
                lines.append("\(device.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(bus.kind) \(bus.name) \(device.address)  \(state)\(health.quality)  requests \(health.requests) errors \(health.errors)\(health.lastError.map { "  last: \($0)" } ?? "")")
            }
        }
        return lines.isEmpty ? ["no devices"] : lines
    }

    /// A bus's own counters on one line, then one line per device (indented under a bus that
    /// has counters of its own); then north's lines.
    public static func statsLines(_ south: [SouthStatus], north: [String]) -> [String] {
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
        return lines + north
    }

    private static func counted(_ counters: [SouthCounter], lastCycleNs: Int64?) -> String {
        var parts = counters.map { "\($0.name) \($0.value)" }
        if let lastCycleNs, lastCycleNs > 0 { parts.append("last cycle \(lastCycleNs / 1000) µs") }
        return parts.joined(separator: " ")
    }
}
