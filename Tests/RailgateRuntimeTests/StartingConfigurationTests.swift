import Console
import Foundation
import RailgateConfig
@testable import RailgateRuntime
import Testing

/// The last good configuration: a rejected file never leaves the gateway down when a copy that
/// started before is kept, and an accepted one becomes that copy.
@Suite(.serialized) struct StartingConfigurationTests {
    let directory: URL
    var file: String { directory.appendingPathComponent("railgate.yaml").path }
    var lastGood: String { directory.appendingPathComponent("last-good.yaml").path }
    static func yaml(id: String) -> String {
        """
        gateway: {id: \(id), isa95: {enterprise: acme}}
        south:
          - name: tcp1
            protocol: modbus-tcp
            host: 127.0.0.1
            port: 1
            devices: [{name: m, unit: 1, tags: [{name: t, table: holding-register, address: 0}]}]

        """
    }
    static let good = yaml(id: "gw1")
    static let other = yaml(id: "gw2")

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("railgate-lastgood-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func anAcceptedFileRunsAndBecomesTheLastGoodCopy() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try write(Self.good, to: file)
        try write(Self.other, to: lastGood)
        let start = try StartingConfiguration.load(file: file, lastGood: lastGood)
        #expect(start.configuration.gateway.id == "gw1" && start.rejection == nil && start.text == nil)
        #expect(start.mode == "running")
        let host = try GatewayHost(configuration: start.configuration, path: file, text: start.text, logs: LogRing())
        start.started(on: host, file: file, lastGood: lastGood)
        #expect(try String(contentsOfFile: lastGood, encoding: .utf8) == Self.good)
    }

    @Test func aRejectedFileRunsTheLastGoodCopyAndSaysSo() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try write(Self.good.replacingOccurrences(of: "modbus-tcp", with: "nope"), to: file)
        try write(Self.other, to: lastGood)
        let start = try StartingConfiguration.load(file: file, lastGood: lastGood)
        #expect(start.configuration.gateway.id == "gw2" && start.text == Self.other)
        #expect(start.rejection?.issues.first?.path == "south[0].protocol")
        #expect(start.mode == "running the LAST GOOD configuration (\(file) rejected, see the journal)")
        let host = try GatewayHost(configuration: start.configuration, path: file, text: start.text, logs: LogRing())
        start.started(on: host, file: file, lastGood: lastGood)
        // The copy is kept as it was; the running text is the copy's.
        #expect(try String(contentsOfFile: lastGood, encoding: .utf8) == Self.other)
        #expect(host.running().text == Self.other)
    }

    @Test func withoutAUsableCopyTheFilesErrorsAreThrown() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try write("gateway: [\n", to: file)
        #expect(throws: ConfigError.self) { try StartingConfiguration.load(file: file, lastGood: nil) }
        #expect(throws: ConfigError.self) { try StartingConfiguration.load(file: file, lastGood: lastGood) }
        try write("also: [broken\n", to: lastGood)
        #expect(throws: ConfigError.self) { try StartingConfiguration.load(file: file, lastGood: lastGood) }
    }
}
