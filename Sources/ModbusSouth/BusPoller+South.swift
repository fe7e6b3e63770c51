import Logging
import RailgateConfig
import RailgateCore

/// A Modbus bus as the runtime, the console and OPC UA see every south bus.
extension BusPoller: SouthBus {
    /// Makes one poller per configured Modbus bus (TCP or RTU); a running one whose settings and
    /// tags did not change is kept.
    public static let factory = SouthFactory.buses(
        "modbus", of: { $0.buses }, tagCount: { $0.devices.reduce(0) { $0 + $1.tags.count } },
        sameSettings: { $0.bus.sameSettings(as: $1) },
        make: { bus, own, wakeup in
            BusPoller(bus: bus, firstTag: 0, tags: own, engineWakeup: wakeup, logger: Logger(label: "railgate.modbus"))
        },
        describe: describe)

    /// `railgate check`: each bus, each device's read plan, and the requests per cycle against one per tag.
    static func describe(_ buses: [BusConfig]) -> [String] {
        var lines: [String] = []
        var tagTotal = 0
        var requestTotal = 0
        var firstTag = 0
        for bus in buses {
            let link = switch bus.link {
            case .tcp(let host, let port): "modbus-tcp \(host):\(port)"
            case .rtu(let serial): "modbus-rtu \(serial.device) \(serial.baud) \(serial.dataBits)\(serial.parity.rawValue)\(serial.stopBits)"
            }
            lines.append("bus \(bus.name): \(link), timeout \(bus.timeoutMs) ms")
            for device in bus.devices {
                let plan = ReadPlan(device: device, firstTag: firstTag)
                firstTag += device.tags.count
                tagTotal += device.tags.count
                requestTotal += plan.reads.count
                lines.append("  device \(device.name) unit \(device.unit), every \(device.pollMs) ms: \(device.tags.count) tags in \(plan.reads.count) request(s)")
                lines += plan.description.split(separator: "\n").map { "    \($0)" }
            }
        }
        if !buses.isEmpty {
            lines.append("read plan: \(requestTotal) request(s) per cycle for \(tagTotal) tags (one request per tag would be \(tagTotal))")
        }
        return lines
    }

    public var protocolName: String {
        switch bus.link {
        case .tcp: "modbus-tcp"
        case .rtu: "modbus-rtu"
        }
    }

    public var kind: String { "bus" }
    public var name: String { bus.name }
    public var deviceNames: [String] { bus.devices.map(\.name) }

    public func health(device: Int) -> DeviceHealth {
        Self.health(stats(device: device))
    }

    private static func health(_ stats: DeviceStats) -> DeviceHealth {
        DeviceHealth(quality: stats.quality, requests: stats.requests, errors: stats.errors,
                     lastError: stats.lastError, lastCycleNs: stats.lastCycleNs)
    }

    public func status() -> SouthStatus {
        let all = stats
        let devices = zip(bus.devices, all).map { device, stats in
            SouthDeviceStatus(
                name: device.name, address: "unit \(device.unit)",
                health: Self.health(stats),
                counters: [StatusCounter("cycles", stats.cycles), StatusCounter("requests", stats.requests),
                           StatusCounter("errors", stats.errors), StatusCounter("missed", stats.missedDeadlines),
                           StatusCounter("writes", stats.writes), StatusCounter("write errors", stats.writeErrors)])
        }
        return SouthStatus(protocolName: protocolName, kind: kind, name: name, devices: devices)
    }

    public func tagSource(_ index: Int) -> String {
        let link = switch bus.link {
        case .tcp(let host, let port): "modbus-tcp \(host):\(port)"
        case .rtu(let serial): "modbus-rtu \(serial.device)"
        }
        var first = 0
        for device in bus.devices {
            if index >= first && index < first + device.tags.count {
                let tag = device.tags[index - first]
                let bit = tag.bit.map { " bit \($0)" } ?? ""
                return "bus \(bus.name) (\(link)), unit \(device.unit), \(tag.table) \(tag.address)\(bit), \(tag.type) \(tag.order)"
            }
            first += device.tags.count
        }
        return "bus \(bus.name) (\(link))"
    }

    /// Three poll intervals of the tag's device plus the bus's cycle with every read timing out,
    /// and 5 s at least.
    public var tagDeadlinesNs: [Int64] {
        let worstCycleMs = plans.reduce(0) { $0 + $1.reads.count * bus.timeoutMs }
        var deadlines: [Int64] = []
        for device in bus.devices {
            let ms = Int64(3 * device.pollMs + worstCycleMs)
            deadlines += Array(repeating: max(SouthDeadline.floorNs, ms * 1_000_000), count: device.tags.count)
        }
        return deadlines
    }

    public var longestRequestMs: Int { bus.timeoutMs }
}
