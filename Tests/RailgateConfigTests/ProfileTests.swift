import Foundation
@testable import RailgateConfig
import Testing

@Suite struct ProfileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let profiles = root.appendingPathComponent("hardware/profiles").path

    func config(_ device: String) -> String {
        """
        gateway: {id: gw, isa95: {enterprise: acme}, profile_dirs: [\(Self.profiles)]}
        south:
          - name: tcp1
            protocol: modbus-tcp
            host: 127.0.0.1
            devices:
        \(device)
        """
    }

    @Test(arguments: ["generic-power-meter", "generic-vfd", "generic-temperature-controller"])
    func shippedProfilesLoad(name: String) throws {
        let configuration = try Configuration.load(yaml: config("      - {name: dev, profile: \(name)}"))
        #expect(configuration.buses[0].devices[0].tags.count >= 5)
    }

    @Test func deviceTagsFollowTheProfileAndClashesAreNamed() throws {
        let configuration = try Configuration.load(yaml: config("""
              - name: drive1
                profile: generic-vfd
                tags: [{name: ramp_time, ref: 400010, scale: 0.1, unit: s, writable: true}]
        """))
        let names = configuration.buses[0].devices[0].tags.map(\.name)
        #expect(names.first == "control_word" && names.last == "ramp_time")
        #expect(throws: ConfigError.self) {
            try Configuration.load(yaml: config("""
                  - name: drive1
                    profile: generic-vfd
                    tags: [{name: fault_code, ref: 400020}]
            """))
        }
    }

    @Test func problemsNameTheProfileFileAndLine() throws {
        let directory = NSTemporaryDirectory() + "rg-profiles-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "tags:\n  - {name: a, ref: 400001}\n  - {name: b, ref: 400002, type: flaot32}\n"
            .write(toFile: directory + "/broken.yaml", atomically: true, encoding: .utf8)
        let text = """
        gateway: {id: gw, isa95: {enterprise: acme}, profile_dirs: [\(directory)]}
        south:
          - {name: tcp1, protocol: modbus-tcp, host: 127.0.0.1, devices: [{name: d, profile: broken}, {name: e, profile: missing}]}
        """
        do {
            _ = try Configuration.load(yaml: text)
            Issue.record("accepted")
        } catch {
            let lines = error.description.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.hasPrefix("\(directory)/broken.yaml:3: south[0].devices[0].profile[broken].tags[1].type: unknown type \"flaot32\"") })
            #expect(lines.contains { $0.contains("south[0].devices[1].profile: no device profile \"missing\"") && $0.contains("(found: broken)") })
        }
    }
}

@Suite struct BoardProfileTests {
    static let hardware = ProfileTests.root.appendingPathComponent("hardware").path

    func load(_ board: String, _ serial: String) throws(ConfigError) -> Configuration {
        try Configuration.load(yaml: """
            gateway: {id: gw, isa95: {enterprise: acme}\(board.isEmpty ? "" : ", board: \(board)")}
            south:
              - name: rtu1
                protocol: modbus-rtu
                serial: \(serial)
                devices: [{name: d, unit: 1, tags: [{name: t, ref: 400001}]}]
            """, baseDirectory: Self.hardware)
    }

    func problems(_ board: String, _ serial: String) -> [String] {
        do { _ = try load(board, serial); return [] } catch { return error.issues.map(\.description) }
    }

    @Test(arguments: ["generic-x86", "arm-dinrail-dual-rs485", "arm-dinrail-cm-carrier"])
    func shippedBoardsLoad(board: String) throws {
        let port = board == "generic-x86" ? "COM2" : "RS485-1"
        guard case .rtu(let serial) = try load(board, "{port: \(port), baud: 9600}").buses[0].link else {
            Issue.record("not a serial bus")
            return
        }
        #expect(serial.device.hasPrefix("/dev/tty"))
        #expect(serial.rs485 == (board != "generic-x86"))
    }

    @Test func portsResolveAndMistakesAreNamed() throws {
        guard case .rtu(let serial) = try load("arm-dinrail-dual-rs485", "{port: RS485-2, rs485: false}").buses[0].link else {
            Issue.record("not a serial bus")
            return
        }
        #expect(serial.device == "/dev/ttymxc2" && !serial.rs485)
        #expect(problems("generic-x86", "{port: RS485-9}").contains {
            $0.contains("serial.port: board generic-x86 has no serial port \"RS485-9\" (it has: COM1, COM2, USB-RS485-1, USB-RS485-2)")
        })
        #expect(problems("", "{port: COM1}").contains { $0.contains("port names come from a board profile: set gateway.board") })
        #expect(problems("generic-x86", "{port: COM1, device: /dev/ttyS3}").contains { $0.contains("give either port") })
        #expect(problems("no-such-board", "{device: /dev/ttyS1}").contains {
            $0.contains("gateway.board: no board profile \"no-such-board\"") && $0.contains("generic-x86")
        })
    }
}

@Suite struct SchemaTests {
    static let bus = "  - {name: tcp1, protocol: modbus-tcp, host: 127.0.0.1, %@, devices: [{name: d, tags: [{name: t, ref: 400001}]}]}"

    func text(_ schema: String, _ timeout: String) -> String {
        "\(schema)gateway: {id: gw, isa95: {enterprise: acme}}\nsouth:\n" + Self.bus.replacingOccurrences(of: "%@", with: timeout)
    }

    @Test func schemaOneIsMigratedWithANote() throws {
        let configuration = try Configuration.load(yaml: text("", "timeout_ms: 250"))
        #expect(configuration.buses[0].timeoutMs == 250 && configuration.schema == 1)
        #expect(configuration.migrationNotes.map(\.description) == ["line 3: south[0].timeout_ms is now south[0].response_timeout_ms"])
    }

    @Test func currentSchemaNeedsNoMigration() throws {
        let configuration = try Configuration.load(yaml: text("schema: 2\n", "response_timeout_ms: 250"))
        #expect(configuration.buses[0].timeoutMs == 250 && configuration.schema == 2 && configuration.migrationNotes.isEmpty)
        // The old name in a schema 2 file is a mistake, named as such.
        #expect(throws: ConfigError.self) { try Configuration.load(yaml: text("schema: 2\n", "timeout_ms: 250")) }
    }

    @Test func aNewerSchemaIsRefused() {
        do {
            _ = try Configuration.load(yaml: text("schema: 4\n", "response_timeout_ms: 250"))
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("schema: schema must be a version from 1 to 3 (this release reads those)"))
        }
    }
}
