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
