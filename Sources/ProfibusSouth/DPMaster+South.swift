import Logging
import RailgateConfig
import RailgateCore

/// A PROFIBUS-DP line as the runtime, the console and OPC UA see every south bus.
extension DPMaster: SouthBus {
    /// Makes one master per configured line; a running one whose settings and tags did not change
    /// is kept.
    public static let factory = SouthFactory.buses(
        "profibus", of: { $0.profibus }, tagCount: { $0.slaves.reduce(0) { $0 + $1.tags.count } },
        sameSettings: { $0.line.sameSettings(as: $1) },
        make: { line, own, wakeup in
            DPMaster(line: line, firstTag: 0, tags: own, engineWakeup: wakeup, logger: Logger(label: "railgate.profibus"))
        },
        describe: describe)

    /// `railgate check`: each line and its slaves as the master will parameterize and configure them.
    static func describe(_ lines: [ProfibusLineConfig]) -> [String] {
        var text: [String] = []
        for line in lines {
            let serial = line.serial
            text.append("profibus line \(line.name): \(serial.device) \(serial.baud) bit/s 8E1, master \(line.masterAddress), slot time \(line.slotTimeBits) bit times, cycle \(line.cycleMs) ms")
            for slave in line.slaves {
                text.append("  slave \(slave.name) address \(slave.address), ident \(Hex.word(slave.identNumber)), \(slave.inputBytes) input / \(slave.outputBytes) output octets, \(slave.tags.count) tags")
                text.append("    modules: \(slave.modules.joined(separator: ", ")) (Chk_Cfg \(Hex.string(slave.configBytes)))")
                text.append("    Set_Prm user parameters: \(slave.userParameters.isEmpty ? "none" : Hex.string(slave.userParameters)); watchdog \(slave.watchdogMs.map { "\($0) ms" } ?? "off")")
            }
        }
        return text
    }

    public var protocolName: String { "profibus-dp" }
    public var kind: String { "line" }
    public var name: String { line.name }
    public var deviceNames: [String] { line.slaves.map(\.name) }

    public func health(device: Int) -> DeviceHealth {
        Self.health(stats(slave: device))
    }

    private static func health(_ stats: DPSlaveStats) -> DeviceHealth {
        DeviceHealth(quality: stats.quality, requests: stats.requests, errors: stats.errors,
                     lastError: stats.lastFault, lastCycleNs: stats.lastCycleNs)
    }

    public func status() -> SouthStatus {
        let line = lineStats
        let devices = stats.map { stats in
            SouthDeviceStatus(
                name: stats.device, address: "address \(stats.address)", state: stats.state.rawValue,
                health: Self.health(stats),
                counters: [StatusCounter("cycles", stats.cycles), StatusCounter("requests", stats.requests),
                           StatusCounter("errors", stats.errors), StatusCounter("retries", stats.retries),
                           StatusCounter("fcs errors", stats.fcsErrors), StatusCounter("restarts", stats.restarts),
                           StatusCounter("writes", stats.writes), StatusCounter("write errors", stats.writeErrors)])
        }
        return SouthStatus(
            protocolName: protocolName, kind: kind, name: name,
            counters: [StatusCounter("cycles", line.cycles), StatusCounter("octets", line.octets),
                       StatusCounter("cpu ns", Int(line.cpuNs)), StatusCounter("wall ns", Int(line.wallNs))],
            lastCycleNs: line.lastCycleNs, devices: devices)
    }

    public func tagSource(_ index: Int) -> String {
        var first = 0
        for slave in line.slaves {
            if index >= first && index < first + slave.tags.count {
                let tag = slave.tags[index - first]
                let bit = tag.type == .bool ? " bit \(tag.bit)" : ""
                return "PROFIBUS line \(line.name) (\(line.serial.device)), slave \(slave.address), \(tag.area) octet \(tag.byte)\(bit), \(tag.type) \(tag.order)"
            }
            first += slave.tags.count
        }
        return "PROFIBUS line \(line.name) (\(line.serial.device))"
    }

    /// Three DP cycles plus a cycle in which every slave uses all its retries, and 5 s at least.
    public var tagDeadlinesNs: [Int64] {
        let worstCycleMs = line.cycleMs + line.slaves.count * (line.retries + 1) * line.responseTimeoutMs
        let ns = max(SouthDeadline.floorNs, Int64(3 * line.cycleMs + worstCycleMs) * 1_000_000)
        return Array(repeating: ns, count: ownTags.count)
    }

    public var longestRequestMs: Int { line.responseTimeoutMs }
}
