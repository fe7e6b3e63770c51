import Foundation
import Testing
@testable import RailgateConfig

/// `protocol: can` buses: tags from DBC messages, and bad input named by path.
struct CANConfigurationTests {
    static let dbc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("hardware/dbc/RG_MACHINE.dbc").path

    func load(_ bus: String) -> Result<Configuration, ConfigError> {
        let yaml = """
        gateway: {id: gw1, isa95: {enterprise: acme}}
        south:
          - name: can1
            protocol: can
            dbc: \(Self.dbc)
        \(bus)
        """
        do { return .success(try Configuration.load(yaml: yaml)) } catch { return .failure(error) }
    }

    func issues(_ bus: String) -> [String] {
        guard case .failure(let error) = load(bus) else { return [] }
        return error.issues.map { "\($0.path): \($0.message)" }
    }

    @Test func messagesBecomeTags() throws {
        let configuration = try load("""
                interface: can0
                devices:
                  - {name: engine, messages: [EEC1]}
                  - {name: drive, messages: [DriveCommand], writable: [SpeedSetpoint], send_period_ms: {DriveCommand: 100}}
            """).get()
        let bus = try #require(configuration.can.first)
        #expect(bus.source == .interface("can0") && bus.devices[0].timeoutMs == [100])  // 3 × 20 ms, at least 100
        #expect(bus.devices[1].sendPeriodMs == ["DriveCommand": 100] && bus.devices[1].writable == ["SpeedSetpoint"])
        let tags = configuration.tags()
        #expect(tags.map(\.name) == ["EngineTorqueMode", "DriverDemandTorque", "ActualEngineTorque", "EngineSpeed",
                                     "SourceAddress", "SpeedSetpoint", "Enable", "Direction"])
        #expect(tags[3].unit == "rpm" && tags[3].range == 0...8031.875 && tags[3].dataType == .float64)
        #expect(tags[5].writable && !tags[6].writable)
    }

    @Test func badInputIsNamed() {
        #expect(issues("    interface: can0\n    devices: [{name: e, messages: [Nope]}]").first?
                    .hasPrefix("south[0].devices[0].messages[0]: message Nope is not in") == true)
        #expect(issues("    interface: can0\n    devices: [{name: e, messages: [EEC1], writable: [Speed]}]")
                == ["south[0].devices[0].writable[0]: writable signal Speed is not in the device's messages"])
        #expect(issues("    interface: can0\n    devices: [{name: e, messages: [EEC1], source_address: 3}]")
                == ["south[0].devices[0].source_address: source_address needs j1939: true on the bus"])
        #expect(issues("    interface: can0\n    devices: [{name: e, messages: [EEC1], send_period_ms: {EEC1: 100}}]")
                == ["south[0].devices[0].send_period_ms.EEC1: message EEC1 has no writable signal to send"])
        #expect(issues("    interface: /dev/can0\n    devices: [{name: e, messages: [EEC1]}]")
                == ["south[0].interface: \"/dev/can0\" is not a network interface name (can0, vcan0) or seqpacket:/path"])
        #expect(issues("    interface: can0\n    devices: [{name: e, messages: [EEC1]}, {name: f, messages: [EEC1]}]")
                == ["south[0].devices[1].messages[0]: message EEC1 already belongs to device e"])
    }
}
