// Harnesses for text a technician or a vendor hands the gateway: GSD and DBC files, the YAML
// configuration, console command lines and the control socket's JSON requests.
import CANSouth
@testable import Console
import Foundation
import Glibc
import RailgateConfig
import RailgateCore
import RailgateYAML
import Synchronization

/// The input as the text of a file, checked the way configuration files are (size, UTF-8).
func fileText(_ input: UnsafeBufferPointer<UInt8>) -> String? {
    guard input.count <= ConfigText.maxBytes else { return nil }
    return try? ConfigText.utf8(Array(input))
}

/// A GSD file, parsed, then used by a DP slave in a configuration (Set_Prm and Chk_Cfg built
/// from its modules and parameters, sizes checked).
final class GSDHarness: Harness {
    static let name = "gsd"
    let directory = Scratch.directory("gsd")
    required init() {}

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        guard let text = fileText(input), let gsd = try? GSDFile.parse(text) else { return }
        let modules = gsd.modules.prefix(4).map { "\"\($0.name.replacingOccurrences(of: "\"", with: ""))\"" }
        Scratch.write(input, to: "\(directory)/slave.gsd")
        let yaml = """
        gateway: {id: fuzz, isa95: {enterprise: acme}}
        south:
          - name: dp1
            protocol: profibus-dp
            serial: {device: /dev/null, baud: 187500}
            master_address: 2
            slaves:
              - name: s5
                address: 5
                gsd: slave.gsd
                modules: [\(modules.joined(separator: ", "))]
                tags:
                  - {name: b0, area: input, byte: 0, type: uint8}
        """
        _ = try? Configuration.load(yaml: yaml, baseDirectory: directory)
    }

    static func seeds() -> [[UInt8]] { filesSeeds("hardware/gsd", ".gsd") }
}

/// A DBC file, parsed; every signal of every message decoded from a frame of the input's octets.
final class DBCHarness: Harness {
    static let name = "dbc"
    required init() {}

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        guard let text = fileText(input), let dbc = try? DBCFile.parse(text) else { return }
        var frame = [UInt8](repeating: 0, count: 64)
        for (index, octet) in input.suffix(64).enumerated() { frame[index] = octet }
        frame.withUnsafeMutableBytes { data in
            for message in dbc.messages.prefix(64) {
                for signal in message.signals.prefix(64) {
                    let codec = SignalCodec(signal)
                    if let raw = codec.raw(UnsafeRawBufferPointer(data)) {
                        _ = codec.integer(raw)
                        let value = codec.physical(raw)
                        if let back = codec.raw(forPhysical: value) { codec.insert(back, into: data) }
                    }
                }
            }
        }
    }

    static func seeds() -> [[UInt8]] { filesSeeds("hardware/dbc", ".dbc") }
}

/// A configuration file: YAML limits, schema migration, every section's validation.
final class ConfigHarness: Harness {
    static let name = "config"
    let directory = Scratch.directory("config")
    required init() {
        // Files a configuration may name, relative to its directory.
        for (folder, suffix) in [("hardware/gsd", ".gsd"), ("hardware/dbc", ".dbc")] {
            for (name, bytes) in files(folder, suffix) { Scratch.write(bytes, to: "\(directory)/\(name)") }
        }
    }

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        guard let text = fileText(input) else { return }
        _ = try? Configuration.load(yaml: text, baseDirectory: directory)
        // What the console writes back of a configuration (a mapping) reads again as the same tree.
        guard let node = try? ConfigText.compose(text), node.mapping != nil else { return }
        let written = YAML.serialize(node)
        guard written.utf8.count <= ConfigText.maxBytes else { return }
        guard let again = try? ConfigText.compose(written) else {
            fatalError("the emitter's text does not compose again:\n\(written.prefix(2000))")
        }
        precondition(YAML.serialize(again) == written, "the emitter's text changes when read and written again")
    }

    static func seeds() -> [[UInt8]] {
        filesSeeds("examples", ".yaml") + filesSeeds("hardware/profiles", ".yaml") + [Array(FuzzGateway.yaml.utf8)]
    }
}

/// Console command lines, one per input line (32 at most), run by a console session against a
/// gateway that accepts commits and writes.
final class ConsoleHarness: Harness {
    static let name = "console"
    let gateway = FuzzGateway()
    required init() {}

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        let session = gateway.session()
        for line in String(decoding: input, as: UTF8.self).split(separator: "\n").prefix(32) {
            _ = session.execute(String(line))
            _ = session.complete(String(line))
        }
        gateway.reset()
    }

    static let lines = [
        "show status", "show devices", "show tags", "show tag acme/m1/speed", "show values", "show stats",
        "show config", "show log 5", "show audit 3", "write acme/m1/speed 12", "write acme/m1/speed -1e308",
        "diag modbus read tcp1 1 holding-register 0 4", "test mqtt", "opcua certificates", "help",
        "configure\nset south.0.devices.0.poll_ms 250\nshow\nvalidate\ncommit comment \"faster\"\nexit",
        "configure\ndelete mqtt\ncommit confirmed 1\nexit\nconfigure\nconfirm\nexit",
        "configure\nset gateway.writes true\nshow diff\ndiscard\nrollback 1\nexit",
        "configure\nload /dev/null\nexit", "show config history", "exit",
    ]

    static func seeds() -> [[UInt8]] { lines.map { Array($0.utf8) } }
}

/// The control socket's request lines (JSON), as one connection sends them.
final class ControlHarness: Harness {
    static let name = "control"
    let gateway = FuzzGateway()
    required init() {}

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        let conversation = ControlConversation(session: gateway.session(), control: gateway, pid: 1)
        for line in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).prefix(32) {
            if let response = conversation.answer(Array(line)[...]), response.close == true { break }
        }
        conversation.end()
        gateway.reset()
    }

    static func seeds() -> [[UInt8]] {
        let encoder = JSONEncoder()
        func request(_ request: ControlRequest) -> String { String(decoding: try! encoder.encode(request), as: UTF8.self) }
        return [
            request(ControlRequest(line: "show status", tty: "/dev/ttyS0")),
            request(ControlRequest(complete: "show ta")) + "\n" + request(ControlRequest(line: "show tags")),
            request(ControlRequest(line: "configure")) + "\n" + request(ControlRequest(line: "set gateway.writes true"))
                + "\n" + request(ControlRequest(line: "commit")) + "\n" + request(ControlRequest(line: "exit")),
            #"{"line": "show tag acme/m1/speed", "tty": null}"#,
        ].map { Array($0.utf8) }
    }
}

/// A running gateway for the console: a configuration, its tags, and commits and writes that
/// always succeed. Thread-safe (a `commit confirmed` rolls back from another thread).
final class FuzzGateway: GatewayControl {
    static let yaml = """
    gateway: {id: fuzz, isa95: {enterprise: acme}, writes: true}
    mqtt: {host: 127.0.0.1, port: 1883, topic_prefix: fuzz}
    south:
      - name: tcp1
        protocol: modbus-tcp
        host: 127.0.0.1
        port: 1502
        devices:
          - name: m1
            unit: 1
            poll_ms: 100
            tags:
              - {name: speed, ref: 400001, writable: true, unit: r/min}
              - {name: voltage, ref: 400002, type: float32}
    """
    let directory = Scratch.directory("console")
    let table = TagTable(tags: [
        Tag(name: "speed", device: "m1", path: "acme/m1/speed", dataType: .uint16, unit: "r/min", writable: true),
        Tag(name: "voltage", device: "m1", path: "acme/m1/voltage", dataType: .float32),
    ])
    private let state: Mutex<(configuration: Configuration, text: String)>
    private let initial: Configuration

    init() {
        let first = try! Configuration.load(yaml: Self.yaml)
        initial = first
        state = Mutex((first, Self.yaml))
        Scratch.write(Array(Self.yaml.utf8), to: "\(directory)/railgate.yaml")
    }

    func session() -> ConsoleSession {
        let store = ConfigStore(control: self, directory: "\(directory)/history", keep: 5)
        return ConsoleSession(control: self, store: store, user: "fuzz (uid 0)")
    }

    /// Back to the first configuration, history emptied.
    func reset() {
        let initial = self.initial
        state.withLock { $0 = (initial, Self.yaml) }
        Scratch.remove("\(directory)/history")
    }

    func running() -> (configuration: Configuration, text: String, path: String) {
        state.withLock { ($0.configuration, $0.text, "\(directory)/railgate.yaml") }
    }
    func tagTable() -> TagTable { table }
    func source(ofTag index: Int) -> String {
        expect(index >= 0 && index < table.count, "source of tag \(index) of \(table.count)")
        return "bus tcp1, unit 1, holding-register \(index)"
    }
    func status() -> GatewayStatus {
        GatewayStatus(id: "fuzz", hierarchy: ["acme"], version: "0", uptimeSeconds: 1, configPath: running().path,
                      configDigest: "0123456789abcdef", south: southStatus(), tagCount: table.count, writesEnabled: true,
                      north: northStatus(), opcuaEndpoint: nil, auditPath: nil)
    }
    func southStatus() -> [SouthStatus] {
        [SouthStatus(protocolName: "modbus-tcp", kind: "bus", name: "tcp1", devices: [
            SouthDeviceStatus(name: "m1", address: "unit 1",
                              health: DeviceHealth(quality: .good, requests: 1, errors: 0, lastError: nil, lastCycleNs: 1000),
                              counters: [StatusCounter("requests", 1)])])]
    }
    func northStatus() -> [NorthStatus] {
        [NorthStatus(name: "mqtt", broker: "127.0.0.1:1883", connected: true, counters: [StatusCounter("published", 1)])]
    }
    func write(path: String, value: WriteValue, origin: String) -> WriteOutcome {
        table.index(ofPath: path) == nil ? .refused("no tag \(path)") : .done
    }
    func apply(_ configuration: Configuration, text: String) throws {
        state.withLock { $0 = (configuration, text) }
    }
    func audit(_ event: String, user: String, details: [(String, String)]) {}
    var auditPath: String? { nil }
    func recentLog(_ count: Int) -> [String] {
        expect(count >= 0 && count <= 10_000, "log lines asked: \(count)")
        return Array(repeating: "railgate: a line", count: min(count, 3))
    }
    func modbusRead(bus: String, unit: Int, table: ModbusTable, start: Int, count: Int) -> Result<[UInt16], ConsoleError> {
        expect(start >= 0 && count >= 1 && start + count <= 65536, "diag read \(start)+\(count)")
        return .success(Array(repeating: 7, count: count))
    }
    func testMQTT() -> (ok: Bool, text: String) { (true, "published") }
    func opcuaCertificates() -> [CertificateFolder]? { nil }
    func opcuaTrust(_ prefix: String) -> Result<String, ConsoleError> { .failure(ConsoleError("no OPC UA")) }
}

/// The files of a folder of the source tree (RAILGATE_SOURCE_ROOT, else the working directory).
func files(_ folder: String, _ suffix: String) -> [(name: String, bytes: [UInt8])] {
    let root = getenv("RAILGATE_SOURCE_ROOT").map { String(cString: $0) } ?? FileManager.default.currentDirectoryPath
    let path = "\(root)/\(folder)"
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
    return names.compactMap { name in
        FileManager.default.contents(atPath: "\(path)/\(name)").map { (name, Array($0)) }
    }
}

func filesSeeds(_ folder: String, _ suffix: String) -> [[UInt8]] { files(folder, suffix).map(\.bytes) }
