import Logging
import RailgateConfig
import RailgateCore

/// A CAN bus as the runtime, the console and OPC UA see every south bus.
extension CANBus: SouthBus {
    /// Makes one bus thread per configured CAN bus; a running one whose settings and tags did not
    /// change is kept.
    public static let factory = SouthFactory.buses(
        "can", of: { $0.can }, tagCount: { $0.tagCount }, sameSettings: { $0.bus.sameSettings(as: $1) },
        make: { bus, own, wakeup in CANBus(bus: bus, tags: own, engineWakeup: wakeup, logger: Logger(label: "railgate.can")) },
        describe: describe)

    /// `railgate check`: each bus, its source and DBC, each device's messages and signal count.
    static func describe(_ buses: [CANBusConfig]) -> [String] {
        var lines: [String] = []
        for bus in buses {
            let link = switch bus.source {
            case .interface(let name): "SocketCAN \(name)\(bus.bitrate.map { " \($0) bit/s" } ?? "")"
            case .seqpacket(let path): "seqpacket \(path)"
            }
            lines.append("can bus \(bus.name): \(link)\(bus.fd ? ", CAN FD" : "")\(bus.j1939 ? ", J1939" : ""), DBC \(bus.dbcFile)")
            for device in bus.devices {
                let signals = CANBusConfig.signals(of: device).count
                lines.append("  device \(device.name)\(device.sourceAddress.map { " source address \($0)" } ?? ""): \(device.messages.count) message(s), \(signals) signal(s): \(device.messages.map(\.name).joined(separator: ", "))")
            }
        }
        return lines
    }

    public var protocolName: String { "can" }
    public var kind: String { "bus" }
    public var name: String { bus.name }
    public var deviceNames: [String] { bus.devices.map(\.name) }

    public func status() -> SouthStatus {
        let stats = self.stats
        let devices = bus.devices.indices.map { index in
            let device = bus.devices[index]
            let health = health(device: index)
            let address = device.sourceAddress.map { "source address \($0)" } ?? "\(device.messages.count) message(s)"
            return SouthDeviceStatus(name: device.name, address: address, health: health,
                                     counters: [StatusCounter("frames", health.requests), StatusCounter("overdue", health.errors)])
        }
        return SouthStatus(
            protocolName: protocolName, kind: kind, name: name,
            counters: [StatusCounter("frames", stats.frames), StatusCounter("unknown", stats.unknown),
                       StatusCounter("error frames", stats.errorFrames), StatusCounter("short", stats.shortFrames),
                       StatusCounter("timeouts", stats.timeouts), StatusCounter("reopens", stats.reopens),
                       StatusCounter("writes", stats.writes), StatusCounter("write errors", stats.writeErrors)],
            lastError: stats.lastError, devices: devices)
    }

    public func tagSource(_ index: Int) -> String {
        let link = switch bus.source {
        case .interface(let name): "SocketCAN \(name)"
        case .seqpacket(let path): "seqpacket \(path)"
        }
        var first = 0
        for device in bus.devices {
            let signals = CANBusConfig.signals(of: device)
            if index >= first && index < first + signals.count {
                let (message, signal) = signals[index - first]
                let frame = device.messages[message]
                let id = String(frame.id, radix: 16, uppercase: true)
                return "CAN bus \(bus.name) (\(link)), message \(frame.name) (0x\(id)\(frame.extended ? " extended" : "")), signal \(signal.name) bits \(signal.startBit)+\(signal.length)"
            }
            first += signals.count
        }
        return "CAN bus \(bus.name) (\(link))"
    }

    /// None: a message not seen within its own timeout makes its tags Bad here, on the bus thread.
    public var tagDeadlinesNs: [Int64] { Array(repeating: 0, count: ownTags.count) }

    /// A CAN bus waits for frames; it sends without waiting for an answer.
    public var longestRequestMs: Int { 0 }
}
