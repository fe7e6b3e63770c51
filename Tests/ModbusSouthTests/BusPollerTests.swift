import Foundation
import Logging
import Testing
@testable import ModbusSouth
import RailgateConfig
import RailgateCore

/// A gateway's south half (bus pollers + engine) against the pymodbus
/// simulator on loopback.
final class SouthHarness {
    let configuration: Configuration
    let table: TagTable
    let engine: TagEngine
    let pollers: [BusPoller]
    let router: WriteRouter
    let audit = AuditTrail()

    final class AuditTrail: Sendable {
        let records = Mutex<[WriteAuditRecord]>([])
    }

    init(_ yaml: String) throws {
        configuration = try Configuration.load(yaml: yaml)
        let tags = configuration.tags()
        table = TagTable(tags: tags)
        let wakeup = Wakeup()
        let south = SouthLayout(configuration: configuration, tags: tags, factories: [BusPoller.factory],
                                engineWakeup: wakeup)
        pollers = south.buses.compactMap { $0 as? BusPoller }
        engine = TagEngine(table: table, rings: pollers.map(\.ring), ringBases: south.bases, sinks: [], wakeup: wakeup)
        let audit = self.audit
        router = WriteRouter(table: table, writesEnabled: configuration.gateway.writesEnabled,
                             targets: south.owners.map { $0 as (any TagWriteTarget)? }, localIndices: south.localIndices) {
            record in audit.records.withLock { $0.append(record) }
        }
        for poller in pollers { poller.start() }
    }

    deinit {
        for poller in pollers { poller.stop() }
    }

    func state(_ name: String) -> TagState {
        let index = table.tags.firstIndex { $0.name == name }!
        return table.state(index)
    }

    /// Drains the engine until `predicate` holds or 15 s pass.
    @discardableResult
    func waitUntil(_ predicate: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            engine.drainOnce()
            if predicate() { return true }
            usleep(20_000)
        }
        return false
    }
}

import Synchronization

func tcpYAML(port: Int, writes: Bool = false, devices: String) -> String {
    """
    gateway: {id: test, isa95: {enterprise: e}, writes: \(writes)}
    south:
      - name: tcp
        protocol: modbus-tcp
        host: 127.0.0.1
        port: \(port)
        timeout_ms: 300
        reconnect_min_ms: 100
        reconnect_max_ms: 400
        devices:
    \(devices)
    """
}

@Suite(.serialized)
struct BusPollerTests {
    let sim = Simulator.shared

    @Test func decodesTheSimulatorsImage() throws {
        let south = try SouthHarness(tcpYAML(port: sim.port, devices: """
              - name: meter
                unit: 1
                poll_ms: 100
                tags:
                  - {name: voltage, ref: 400001, type: float32}
                  - {name: current, ref: 400003, type: float32, order: CDAB}
                  - {name: temperature, ref: 400005, type: int16, scale: 0.1}
                  - {name: speed, ref: 400006}
                  - {name: counter, ref: 400007, type: uint32}
                  - {name: energy, ref: 400009, type: int64}
                  - {name: pi, ref: 400013, type: float64}
                  - {name: run, ref: 400017, type: bool, bit: 0}
                  - {name: stop, ref: 400017, type: bool, bit: 1}
                  - {name: swapped, ref: 400018, order: BADC}
                  - {name: serial, ref: 400021, type: string, length: 8}
                  - {name: frequency, ref: 300002, type: float32}
                  - {name: coil0, ref: "00001"}
                  - {name: coil1, ref: "00002"}
                  - {name: input1, ref: 100002}
              - name: meter2
                unit: 2
                poll_ms: 100
                tags:
                  - {name: speed2, ref: 400006}
        """))
        #expect(south.waitUntil { south.table.snapshot().allSatisfy { $0.sample.quality.isGood } })
        #expect(south.state("voltage").sample.value.double == 230.5)
        #expect(south.state("current").sample.value.double == 12.25)
        #expect(south.state("temperature").sample.value.double == -12.5)
        #expect(south.state("speed").sample.value.uint == 1450)
        #expect(south.state("counter").sample.value.uint == 123_456_789)
        #expect(south.state("energy").sample.value.int == -9_876_543_210)
        #expect(south.state("pi").sample.value.double == 3.14159265358979)
        #expect(south.state("run").sample.value.bool == true)
        #expect(south.state("stop").sample.value.bool == false)
        #expect(south.state("swapped").sample.value.uint == 0x1234)
        #expect(south.state("serial").text == "RG-METER-01")
        #expect(south.state("frequency").sample.value.double == 50)
        #expect(south.state("coil0").sample.value.bool == true)
        #expect(south.state("coil1").sample.value.bool == false)
        #expect(south.state("input1").sample.value.bool == true)
        #expect(south.state("speed2").sample.value.uint == 1451)
        let stats = south.pollers[0].stats
        #expect(stats[0].errors == 0 && stats[0].requests > 0)
    }

    @Test func writesRunOnTheBusThreadAndAreAudited() throws {
        let south = try SouthHarness(tcpYAML(port: sim.port, writes: true, devices: """
              - name: plc
                unit: 2
                poll_ms: 5000
                tags:
                  - {name: setpoint, ref: 400041, writable: true}
                  - {name: temp_sp, ref: 400042, type: float32, writable: true}
                  - {name: scaled, ref: 400044, type: int16, scale: 0.1, writable: true, write_multiple: true}
                  - {name: lamp, ref: "00005", writable: true}
                  - {name: horn, ref: "00006", writable: true, write_multiple: true}
                  - {name: readonly, ref: 400045}
        """))
        #expect(south.waitUntil { south.state("setpoint").sample.quality.isGood })
        let prefix = "e/plc/"
        #expect(south.router.writeAndWait(path: prefix + "setpoint", value: .number(777), origin: "test") == .done)
        #expect(south.router.writeAndWait(path: prefix + "temp_sp", value: .number(21.5), origin: "test") == .done)
        #expect(south.router.writeAndWait(path: prefix + "scaled", value: .number(-3.2), origin: "test") == .done)
        #expect(south.router.writeAndWait(path: prefix + "lamp", value: .bool(true), origin: "test") == .done)
        #expect(south.router.writeAndWait(path: prefix + "horn", value: .number(1), origin: "test") == .done)
        guard case .refused = south.router.writeAndWait(path: prefix + "horn", value: .number(2), origin: "test") else {
            Issue.record("a coil takes only true/false or 0/1")
            return
        }
        #expect(south.router.writeAndWait(path: prefix + "readonly", value: .number(1), origin: "test")
                == .refused("tag is not writable"))
        guard case .refused = south.router.writeAndWait(path: prefix + "setpoint", value: .number(70000), origin: "test") else {
            Issue.record("out-of-range value must be refused")
            return
        }
        // A successful write triggers an immediate read of the device, well before the 5 s poll period.
        #expect(south.waitUntil {
            south.state("setpoint").sample.value.uint == 777 && south.state("temp_sp").sample.value.double == 21.5
                && south.state("scaled").sample.value.double == -3.2 && south.state("lamp").sample.value.bool
                && south.state("horn").sample.value.bool
        })
        let records = south.audit.records.withLock { $0 }
        #expect(records.count == 8)
        #expect(records.first?.origin == "test" && records.first?.outcome == .done)
        #expect(south.pollers[0].stats[0].writes == 5)
        #expect(south.pollers[0].stats[0].writeErrors == 0)
    }

    @Test func writesAreRefusedWhenThePolicyIsOff() throws {
        let south = try SouthHarness(tcpYAML(port: sim.port, writes: false, devices: """
              - name: plc
                unit: 2
                tags:
                  - {name: setpoint, ref: 400041, writable: true}
        """))
        guard case .refused(let why) = south.router.writeAndWait(path: "e/plc/setpoint", value: .number(1), origin: "t") else {
            Issue.record("expected refusal")
            return
        }
        #expect(why.contains("gateway.writes"))
    }

    @Test func anExceptionMakesOnlyThatReadsTagsBad() throws {
        let south = try SouthHarness(tcpYAML(port: sim.port, devices: """
              - name: meter
                unit: 1
                poll_ms: 100
                tags:
                  - {name: speed, ref: 400006}
                  - {name: beyond, ref: 400151}
        """))
        #expect(south.waitUntil {
            south.state("speed").sample.quality.isGood && south.state("beyond").sample.quality.reason == .exception
        })
        #expect(south.state("beyond").sample.quality.detail == 2)
        #expect(south.state("beyond").sample.quality.description == "bad: exception 2")
    }

    @Test func aSilentUnitTimesOutWhileItsNeighbourKeepsPolling() throws {
        let south = try SouthHarness(tcpYAML(port: sim.port, devices: """
              - name: absent
                unit: 9
                poll_ms: 100
                tags:
                  - {name: ghost, ref: 400001}
              - name: meter
                unit: 1
                poll_ms: 100
                tags:
                  - {name: speed, ref: 400006}
        """))
        #expect(south.waitUntil {
            south.state("ghost").sample.quality.reason == .timeout && south.state("speed").sample.quality.isGood
        })
        // The good device keeps being read after the other one timed out.
        let before = south.pollers[0].stats[1].cycles
        #expect(south.waitUntil { south.pollers[0].stats[1].cycles >= before + 3 })
        #expect(south.state("speed").sample.quality.isGood)
    }

    @Test func aRefusedConnectionMarksOnlyItsBusDisconnected() throws {
        let closed = Simulator.freePort()
        let yaml = """
        gateway: {id: test, isa95: {enterprise: e}}
        south:
          - name: dead
            protocol: modbus-tcp
            host: 127.0.0.1
            port: \(closed)
            reconnect_min_ms: 50
            reconnect_max_ms: 200
            devices:
              - {name: nobody, unit: 1, tags: [{name: x, ref: 400001}]}
          - name: alive
            protocol: modbus-tcp
            host: 127.0.0.1
            port: \(sim.port)
            devices:
              - {name: meter, unit: 1, poll_ms: 100, tags: [{name: speed, ref: 400006}]}
        """
        let south = try SouthHarness(yaml)
        #expect(south.waitUntil {
            south.state("x").sample.quality.reason == .disconnected && south.state("speed").sample.quality.isGood
        })
        #expect(south.pollers[0].stats[0].lastError?.contains("refused") == true)
        // Writes to a disconnected bus fail instead of hanging.
    }
}
