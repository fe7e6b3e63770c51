import RailgateCore
import FoundationEssentials
import RailgateYAML

/// What a gateway's hardware offers, by the names printed on its housing:
/// serial ports (with the kernel device and whether the UART runs in RS-485
/// mode), CAN interfaces and LEDs. `gateway.board: NAME` selects one, and
/// serial settings may then say `port: RS485-1` instead of a device path, so a
/// configuration moves between units of the same class unchanged.
public struct BoardProfile: Sendable, Equatable {
    public struct SerialPort: Sendable, Equatable {
        public var port: String
        public var device: String
        public var rs485: Bool
    }

    public struct CANPort: Sendable, Equatable {
        public var port: String
        public var interface: String
    }

    public var name: String
    public var file: String
    public var description: String?
    public var serial: [SerialPort]
    public var can: [CANPort]

    /// Board files are looked up as NAME.yaml in these directories.
    static func searchPath(baseDirectory: String) -> [String] {
        [Path.join(baseDirectory, "boards"), "/etc/railgate/boards", "/usr/share/railgate/boards"]
    }

    /// Reads `gateway.board`; problems go to the log with the board file's lines.
    static func load(_ gateway: NodeReader, baseDirectory: String) -> BoardProfile? {
        guard let name = gateway.string("board") else { return nil }
        guard let file = Configuration.findYAML(name, kind: "board profile", in: searchPath(baseDirectory: baseDirectory),
                                                reader: gateway, key: "board") else { return nil }
        let node: Node?
        do {
            node = try ConfigText.compose(ConfigText.text(of: file))
        } catch {
            gateway.issue("board", "board profile \(error.line.map { "\(file):\($0)" } ?? file): \(error.message)")
            return nil
        }
        guard let node, node.mapping != nil else {
            gateway.issue("board", "board profile \(file) is not a YAML mapping")
            return nil
        }
        let reader = NodeReader(node: node, path: "board[\(name)]", log: gateway.log, file: file)
        reader.rejectUnknownKeys(["description", "serial", "can", "leds"])
        let serial = reader.sequence("serial").compactMap { port -> SerialPort? in
            port.rejectUnknownKeys(["port", "device", "rs485"])
            guard let id = port.string("port", required: true), let device = port.string("device", required: true) else { return nil }
            return SerialPort(port: id, device: device, rs485: port.bool("rs485") ?? false)
        }
        let can = reader.sequence("can").compactMap { port -> CANPort? in
            port.rejectUnknownKeys(["port", "interface"])
            guard let id = port.string("port", required: true), let interface = port.string("interface", required: true) else { return nil }
            return CANPort(port: id, interface: interface)
        }
        for led in reader.sequence("leds") { led.rejectUnknownKeys(["name", "path"]) }
        return BoardProfile(name: name, file: file, description: reader.string("description"), serial: serial, can: can)
    }
}

extension Configuration {
    /// The device of a serial section: `device: PATH`, or `port: NAME` from
    /// the board profile (which also gives the RS-485 default).
    static func serialDevice(_ section: NodeReader, board: BoardProfile?) -> (device: String?, rs485: Bool) {
        if let port = section.string("port") {
            if section.child("device") != nil {
                section.issue("port", "give either port (from the board profile) or device, not both")
                return (nil, false)
            }
            guard let board else {
                section.issue("port", "port names come from a board profile: set gateway.board, or give device: /dev/…")
                return (nil, false)
            }
            guard let match = board.serial.first(where: { $0.port == port }) else {
                section.issue("port", "board \(board.name) has no serial port \"\(port)\" (it has: \(board.serial.map(\.port).joined(separator: ", ")))")
                return (nil, false)
            }
            return (match.device, section.bool("rs485") ?? match.rs485)
        }
        return (section.string("device", required: true), section.bool("rs485") ?? false)
    }
}
