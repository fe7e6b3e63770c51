import FoundationEssentials
import RailgateCore

/// A CAN bus (`protocol: can`): one SocketCAN interface, its DBC file and
/// the devices whose messages become tags (every signal a tag, named by the
/// signal, a double in the DBC's unit and range).
public struct CANBusConfig: Sendable, Equatable {
    /// Where frames come from.
    public enum Source: Sendable, Equatable {
        /// A SocketCAN interface (`can0`, `vcan0`).
        case interface(String)
        /// A local SOCK_SEQPACKET socket carrying `struct can_frame` records,
        /// one per packet (`seqpacket:/path`): simulators and tests.
        case seqpacket(String)
    }

    public struct Device: Sendable, Equatable {
        public var name: String
        public var messages: [DBCFile.Message]
        /// A message not received within this time makes its tags Bad.
        public var timeoutMs: [Int]
        /// Signals the device may write (`writable: [...]`).
        public var writable: Set<String>
        /// J1939: the device's source address; frames of its messages' PGNs
        /// from other addresses are not its (nil: any address).
        public var sourceAddress: Int?
        /// Messages sent again every this many ms once written (`send_period_ms: {Message: ms}`).
        public var sendPeriodMs: [String: Int] = [:]
        public var line: Int?
    }

    public var name: String
    public var source: Source
    /// Set with libsocketcan before opening, when given (needs CAP_NET_ADMIN).
    public var bitrate: Int?
    public var restartMs: Int?
    /// Accept CAN FD frames (72-byte records).
    public var fd: Bool
    /// J1939 network: 29-bit ids are matched by PGN (and the device's source
    /// address), not as a whole: the DBC's priority and address are ignored.
    public var j1939: Bool
    public var dbcFile: String
    public var devices: [Device]
    public var reconnectMinMs: Int
    public var reconnectMaxMs: Int
    public var line: Int?

    /// The signals of a device in tag order: (message index, signal).
    public static func signals(of device: Device) -> [(message: Int, signal: DBCFile.Signal)] {
        device.messages.enumerated().flatMap { index, message in message.signals.map { (index, $0) } }
    }

    public var tagCount: Int { devices.reduce(0) { $0 + Self.signals(of: $1).count } }

    /// Same interface, DBC and devices: a running bus thread can be kept.
    public func sameSettings(as other: CANBusConfig) -> Bool { self == other }
}

extension Configuration {
    static func readCANBus(_ reader: NodeReader, baseDirectory: String) -> CANBusConfig? {
        reader.rejectUnknownKeys(["name", "protocol", "interface", "bitrate", "restart_ms", "fd", "j1939", "dbc", "devices",
                                  "reconnect_min_ms", "reconnect_max_ms"])
        let name = checkName(reader, "name")
        var source: CANBusConfig.Source?
        if let text = reader.string("interface", required: true) {
            if text.hasPrefix("seqpacket:") {
                source = .seqpacket(String(text.dropFirst("seqpacket:".count)))
            } else if text.isEmpty || text.count > 15 || text.contains("/") || text.contains(" ") {
                reader.issue("interface", "\"\(text)\" is not a network interface name (can0, vcan0) or seqpacket:/path")
            } else {
                source = .interface(text)
            }
        }
        let bitrate = reader.int("bitrate", range: 10_000...8_000_000)
        let restart = reader.int("restart_ms", range: 0...60_000)
        let fd = reader.bool("fd") ?? false
        let j1939 = reader.bool("j1939") ?? false
        var dbc: DBCFile?
        var dbcPath = ""
        if let file = reader.string("dbc", required: true) {
            dbcPath = Path.join(baseDirectory, file)
            do {
                dbc = try DBCFile.load(file: dbcPath)
            } catch {
                let place = error.line.map { "\(dbcPath):\($0)" } ?? dbcPath
                reader.issue("dbc", "DBC \(place): \(error.message)")
            }
        }
        let deviceReaders = reader.sequence("devices", required: true)
        var devices: [CANBusConfig.Device] = []
        var claimed: [String: String] = [:]
        for device in deviceReaders {
            device.rejectUnknownKeys(["name", "messages", "timeout_ms", "writable", "source_address", "send_period_ms"])
            let sourceAddress = device.int("source_address", range: 0...253)
            if sourceAddress != nil && !j1939 { device.issue("source_address", "source_address needs j1939: true on the bus") }
            guard let deviceName = checkName(device, "name") else { continue }
            var messages: [DBCFile.Message] = []
            var timeouts: [Int] = []
            let explicit = device.int("timeout_ms", range: 1...3_600_000)
            for item in device.scalars("messages") {
                guard let dbc else { continue }
                guard let message = dbc.message(named: item.text) else {
                    device.issue(path: item.path, line: item.line,
                                 "message \(item.text) is not in \(dbcPath) (it has \(dbc.messages.map(\.name).joined(separator: ", ")))")
                    continue
                }
                if j1939 && !message.extended {
                    device.issue(path: item.path, line: item.line, "message \(message.name) has an 11-bit id; J1939 messages have 29-bit ids")
                }
                if let owner = claimed[message.name] {
                    device.issue(path: item.path, line: item.line, "message \(message.name) already belongs to device \(owner)")
                    continue
                }
                if !fd && message.length > 8 {
                    device.issue(path: item.path, line: item.line, "message \(message.name) has \(message.length) bytes: set fd: true for CAN FD")
                }
                claimed[message.name] = deviceName
                messages.append(message)
                timeouts.append(explicit ?? message.cycleTimeMs.map { max(3 * $0, 100) } ?? 1000)
            }
            if device.child("messages") == nil { device.issue(nil, "missing required list \"messages\" (DBC message names)") }
            let signalNames = Set(messages.flatMap { $0.signals.map(\.name) })
            var writable = Set<String>()
            for item in device.scalars("writable") {
                if signalNames.contains(item.text) { writable.insert(item.text) } else {
                    device.issue(path: item.path, line: item.line, "writable signal \(item.text) is not in the device's messages")
                }
            }
            var periods: [String: Int] = [:]
            if let section = device.mapping("send_period_ms") {
                for (key, value) in section.node.mapping ?? [:] {
                    guard let message = key.string else { continue }
                    let path = section.childPath(message)
                    guard let ms = value.int, (10...60_000).contains(ms) else {
                        section.issue(path: path, line: value.line, "a period of 10 to 60000 ms")
                        continue
                    }
                    guard let owned = messages.first(where: { $0.name == message }) else {
                        section.issue(path: path, line: key.line, "message \(message) is not one of the device's messages")
                        continue
                    }
                    guard owned.signals.contains(where: { writable.contains($0.name) }) else {
                        section.issue(path: path, line: key.line, "message \(message) has no writable signal to send")
                        continue
                    }
                    periods[message] = ms
                }
            }
            var seen = Set<String>()
            for message in messages {
                for signal in message.signals where !seen.insert(signal.name).inserted {
                    device.issue("messages", "signal \(signal.name) appears in two messages of device \(deviceName); tags need unique names")
                }
            }
            devices.append(CANBusConfig.Device(name: deviceName, messages: messages, timeoutMs: timeouts,
                                               writable: writable, sourceAddress: sourceAddress, sendPeriodMs: periods,
                                               line: device.line))
        }
        guard let name, let source, dbc != nil else { return nil }
        return CANBusConfig(name: name, source: source, bitrate: bitrate, restartMs: restart, fd: fd, j1939: j1939,
                            dbcFile: dbcPath,
                            devices: devices, reconnectMinMs: reader.int("reconnect_min_ms", range: 10...3_600_000) ?? 500,
                            reconnectMaxMs: reader.int("reconnect_max_ms", range: 10...3_600_000) ?? 30_000,
                            line: reader.line)
    }
}

/// J1939 (SAE J1939-21) fields of a 29-bit identifier.
public enum J1939 {
    /// The parameter group number: for PDU1 formats (PF < 240) the PDU
    /// specific octet is a destination address, not part of the PGN.
    @inline(__always)
    public static func pgn(_ id: UInt32) -> UInt32 {
        let pf = (id >> 16) & 0xFF
        let pgn = (id >> 8) & 0x3FFFF
        return pf < 240 ? pgn & 0x3FF00 : pgn
    }

    @inline(__always)
    public static func sourceAddress(_ id: UInt32) -> UInt32 { id & 0xFF }

    @inline(__always)
    public static func priority(_ id: UInt32) -> UInt32 { (id >> 26) & 0x7 }
}
