import CANSouth
import Console
import Foundation
import ModbusSouth
import ProfibusSouth
import RailgateConfig
import RailgateCore
@testable import RailgateRuntime
import Testing

/// The runtime over every south protocol at once: composition from the registry, every path a
/// technician or north reads (tag sources, devices, stats, status line, OPC UA device health,
/// deadlines) covering Modbus, PROFIBUS-DP and CAN, and a commit that keeps unchanged buses.
/// The buses point at nothing (a closed port, absent paths): no device answers.
@Suite(.serialized) struct GatewayTests {
    static let hardware = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("hardware").path

    /// Two Modbus tags, one PROFIBUS tag, the CAN message EEC1's five signals.
    static func yaml(modbusPort: Int = 1, canSocket: String = "/nonexistent/railgate-can.sock") -> String {
        """
        gateway: {id: gw1, isa95: {enterprise: acme, site: s1}}
        south:
          - name: tcp1
            protocol: modbus-tcp
            host: 127.0.0.1
            port: \(modbusPort)
            response_timeout_ms: 200
            devices:
              - name: meter
                unit: 7
                poll_ms: 1000
                tags:
                  - {name: power, table: holding-register, address: 0, type: float32}
                  - {name: run, table: coil, address: 3, type: bool}
          - name: dp1
            protocol: profibus-dp
            serial: {device: /nonexistent/railgate-dp, baud: 187500}
            cycle_ms: 100
            slaves:
              - name: press-io
                address: 5
                gsd: \(hardware)/gsd/RG_IO.gsd
                modules: ["8 DI", "2 AI word", "8 DO", "2 AO word"]
                tags:
                  - {name: pieces, area: input, byte: 1, type: uint16}
          - name: can1
            protocol: can
            interface: seqpacket:\(canSocket)
            dbc: \(hardware)/dbc/RG_MACHINE.dbc
            devices:
              - {name: engine, messages: [EEC1]}
        """
    }

    static func gateway(_ yaml: String = yaml()) throws -> Gateway {
        try Gateway(configuration: try Configuration.load(yaml: yaml), configPath: "/nonexistent/railgate.yaml",
                    auditTrail: nil)
    }

    @Test func theRegistryMakesOneBusPerConfiguredBusInTagOrder() throws {
        let gateway = try Self.gateway()
        #expect(gateway.south.map(\.protocolName) == ["modbus-tcp", "profibus-dp", "can"])
        #expect(gateway.south.map(\.name) == ["tcp1", "dp1", "can1"])
        #expect(gateway.layout.bases == [0, 2, 3])
        #expect(gateway.table.count == 8)
        // Each tag's owner holds it at its local index.
        #expect(gateway.layout.localIndices == [0, 1, 0, 0, 1, 2, 3, 4])
        for (index, tag) in gateway.table.tags.enumerated() {
            let owner = gateway.layout.owners[index]
            #expect(owner.ownTags[gateway.layout.localIndices[index]] == tag)
        }
    }

    @Test func everyTagHasASourceWhateverItsProtocol() throws {
        let gateway = try Self.gateway()
        let sources = (0..<gateway.table.count).map(gateway.source(ofTag:))
        #expect(sources[0] == "bus tcp1 (modbus-tcp 127.0.0.1:1), unit 7, holding-register 0, float32 ABCD")
        #expect(sources[2].hasPrefix("PROFIBUS line dp1 (/nonexistent/railgate-dp), slave 5, input octet 1"))
        #expect(sources[3].hasPrefix("CAN bus can1 (seqpacket /nonexistent/railgate-can.sock), message EEC1"))
        #expect(sources[7].contains("signal SourceAddress"))
        #expect(gateway.source(ofTag: 8) == "unknown" && gateway.source(ofTag: -1) == "unknown")
    }

    @Test func devicesStatsAndTheStatusLineCoverEveryProtocol() throws {
        let gateway = try Self.gateway()
        let south = gateway.south.map { $0.status() }
        let devices = StatusReport.deviceLines(south)
        #expect(devices.count == 3)
        #expect(devices[0].hasPrefix("meter            bus tcp1 unit 7  "))
        #expect(devices[1].hasPrefix("press-io         line dp1 address 5  offline  "))
        #expect(devices[2].hasPrefix("engine           bus can1 1 message(s)  "))
        let north = NorthStatus(name: "mqtt", broker: "127.0.0.1:1883", connected: false,
                                counters: [StatusCounter("published", 0)])
        let stats = StatusReport.statsLines(south, north: [north])
        #expect(stats.contains { $0.hasPrefix("meter: cycles 0 requests 0 errors 0 missed 0") })
        #expect(stats.contains { $0.hasPrefix("line dp1: cycles 0 octets 0") })
        #expect(stats.contains { $0.hasPrefix("  press-io: cycles 0 requests 0") })
        #expect(stats.contains { $0.hasPrefix("bus can1: frames 0 unknown 0 error frames 0 short 0") })
        #expect(stats.contains { $0.hasPrefix("  engine: frames 0 overdue 0") })
        #expect(stats.last == "mqtt: not connected published=0")
        // No device has answered: all three count as failing, whatever their protocol.
        #expect(gateway.statusSummary() == "0/8 tags good, 3 device(s) failing")
        #expect(StatusReport.southSummary(south) == "1 modbus-tcp bus(es), 1 profibus-dp line(s), 1 can bus(es)")
    }

    @Test func theCheckReportDescribesEveryProtocol() throws {
        let lines = CheckReport.text(try Configuration.load(yaml: Self.yaml())).split(separator: "\n").map(String.init)
        #expect(lines.first == "gateway gw1: 3 bus(es), 8 tags; writes disabled")
        #expect(lines.contains("bus tcp1: modbus-tcp 127.0.0.1:1, timeout 200 ms"))
        #expect(lines.contains { $0.hasPrefix("  device meter unit 7, every 1000 ms: 2 tags in 2 request(s)") })
        #expect(lines.contains { $0.hasPrefix("profibus line dp1: /nonexistent/railgate-dp 187500 bit/s 8E1") })
        #expect(lines.contains { $0.hasPrefix("  slave press-io address 5, ident ") })
        #expect(lines.contains { $0.hasPrefix("can bus can1: seqpacket /nonexistent/railgate-can.sock, DBC ") })
        #expect(lines.contains { $0.hasPrefix("  device engine: 1 message(s), 5 signal(s): EEC1") })
        #expect(lines.contains("read plan: 2 request(s) per cycle for 2 tags (one request per tag would be 2)"))
    }

    @Test func opcuaDeviceHealthReachesEveryProtocol() throws {
        let configuration = try Configuration.load(yaml: Self.yaml() + "\nopcua: {host: 127.0.0.1, port: 1}\n")
        let gateway = try Gateway(configuration: configuration, configPath: "/nonexistent/railgate.yaml", auditTrail: nil)
        let model = Gateway.model(configuration, table: gateway.table, devices: gateway.devices,
                                  opcua: try #require(configuration.opcua), history: nil, alarms: nil)
        for device in ["meter", "press-io", "engine"] {
            let health = try #require(model.devices.health(named: device), "no health for \(device)")
            #expect(!health.quality.isGood)
        }
        #expect(model.devices.health(named: "nobody") == nil)
        #expect(model.devices.names == ["meter", "press-io", "engine"])
    }

    @Test func everyTagHasOneDeadlineFromItsBus() throws {
        let gateway = try Self.gateway()
        let deadlines = gateway.layout.deadlinesNs(tagCount: gateway.table.count)
        #expect(deadlines.count == 8)
        // Modbus: 3 × 1000 ms + one read per table timing out (2 × 200 ms) = 3.4 s, below the 5 s floor.
        #expect(deadlines[0] == SouthDeadline.floorNs && deadlines[1] == SouthDeadline.floorNs)
        #expect(deadlines[2] == SouthDeadline.floorNs)
        // CAN tags go bad by their messages' own timeouts, on the bus thread.
        #expect(deadlines[3...].allSatisfy { $0 == 0 })
        #expect(gateway.south.map(\.longestRequestMs).max() == 200)
    }

    @Test func aCommitKeepsTheBusesItDoesNotChange() throws {
        let first = try Self.gateway()
        let second = try Gateway(configuration: try Configuration.load(yaml: Self.yaml(modbusPort: 2)),
                                 configPath: "/nonexistent/railgate.yaml", auditTrail: nil, reusing: first)
        // The Modbus bus changed (its port): a new poller; the PROFIBUS line and the CAN bus are kept.
        #expect(second.south[0] !== first.south[0])
        #expect(second.south[1] === first.south[1] && second.south[2] === first.south[2])
        #expect(second.southBuses(notIn: first).map(\.name) == ["tcp1"])
        #expect(first.southBuses(notIn: second).map(\.name) == ["tcp1"])
    }

    @Test func theHostAppliesACommitAndReportsEveryBus() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("railgate-runtime-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("railgate.yaml").path
        let text = Self.yaml(canSocket: directory.appendingPathComponent("can.sock").path)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let host = try GatewayHost(configuration: try Configuration.load(yaml: text), path: path, logs: LogRing())
        try host.start()
        defer { host.stop() }
        let dp = host.current.south[1]
        weak var replaced = host.current
        weak var replacedModbus = host.current.south[0]
        #expect(host.southStatus().map(\.name) == ["tcp1", "dp1", "can1"])
        #expect(StatusReport.statusLines(host.status()).contains("south     1 modbus-tcp bus(es), 1 profibus-dp line(s), 1 can bus(es), 8 tags"))
        let changed = text.replacingOccurrences(of: "port: 1\n", with: "port: 2\n")
        try host.apply(try Configuration.load(yaml: changed), text: changed)
        #expect(host.current.south[1] === dp)
        // The replaced gateway and its stopped bus are freed, not kept by what replaced them.
        #expect(replaced == nil && replacedModbus == nil)
        #expect(host.running().text == changed)
        #expect(host.source(ofTag: 0).contains("127.0.0.1:2"))
        // A Modbus diagnostic read names the buses there are when it names none of them.
        guard case .failure(let error) = host.modbusRead(bus: "dp1", unit: 5, table: .holdingRegister, start: 0, count: 1) else {
            Issue.record("a diagnostic read of a PROFIBUS line was accepted")
            return
        }
        #expect(error.description == "no Modbus bus \"dp1\" (buses: tcp1)")
    }
}
