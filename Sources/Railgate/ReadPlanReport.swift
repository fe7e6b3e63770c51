import ModbusSouth
import Foundation
import ProfibusSouth
import RailgateConfig

/// What `railgate check` prints: the buses, devices and the read plan of
/// each device, with requests per cycle against one request per tag.
struct ReadPlanReport {
    let configuration: Configuration

    var text: String {
        var lines: [String] = []
        var tagTotal = 0
        var requestTotal = 0
        let tags = configuration.tags()
        if !configuration.migrationNotes.isEmpty {
            lines.append("schema \(configuration.schema) → \(ConfigSchema.current): read with these changes (update the file and add schema: \(ConfigSchema.current)):")
            lines += configuration.migrationNotes.map { "  \($0)" }
        }
        lines.append("gateway \(configuration.gateway.id): \(configuration.buses.count + configuration.profibus.count + configuration.can.count) bus(es), \(tags.count) tags; writes \(configuration.gateway.writesEnabled ? "enabled" : "disabled")")
        var firstTag = 0
        for bus in configuration.buses {
            let link = switch bus.link {
            case .tcp(let host, let port): "modbus-tcp \(host):\(port)"
            case .rtu(let serial): "modbus-rtu \(serial.device) \(serial.baud) \(serial.dataBits)\(serial.parity.rawValue)\(serial.stopBits)"
            }
            lines.append("bus \(bus.name): \(link), timeout \(bus.timeoutMs) ms")
            for device in bus.devices {
                let plan = ReadPlan(device: device, firstTag: firstTag)
                firstTag += device.tags.count
                tagTotal += device.tags.count
                requestTotal += plan.reads.count
                lines.append("  device \(device.name) unit \(device.unit), every \(device.pollMs) ms: \(device.tags.count) tags in \(plan.reads.count) request(s)")
                for line in plan.description.split(separator: "\n") {
                    lines.append("    \(line)")
                }
            }
        }
        for line in configuration.profibus {
            let serial = line.serial
            lines.append("profibus line \(line.name): \(serial.device) \(serial.baud) bit/s 8E1, master \(line.masterAddress), slot time \(line.slotTimeBits) bit times, cycle \(line.cycleMs) ms")
            for slave in line.slaves {
                lines.append("  slave \(slave.name) address \(slave.address), ident \(Hex.word(slave.identNumber)), \(slave.inputBytes) input / \(slave.outputBytes) output octets, \(slave.tags.count) tags")
                lines.append("    modules: \(slave.modules.joined(separator: ", ")) (Chk_Cfg \(Hex.string(slave.configBytes)))")
                lines.append("    Set_Prm user parameters: \(slave.userParameters.isEmpty ? "none" : Hex.string(slave.userParameters)); watchdog \(slave.watchdogMs.map { "\($0) ms" } ?? "off")")
            }
        }
        for bus in configuration.can {
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
        if !configuration.buses.isEmpty {
            lines.append("read plan: \(requestTotal) request(s) per cycle for \(tagTotal) tags (one request per tag would be \(tagTotal))")
        }
        if let mqtt = configuration.mqtt {
            lines.append("mqtt: \(mqtt.host):\(mqtt.port) qos \(mqtt.qos), topics \(mqtt.topicPrefix)/\(configuration.gateway.hierarchy.levels.joined(separator: "/"))/<device>/<tag>")
        }
        if let opcua = configuration.opcua {
            lines.append("opcua: \(opcua.endpointUrl) (listening on \(opcua.host):\(opcua.port)), security None, anonymous \(opcua.anonymous ? "allowed" : "refused"), \(opcua.users.count) user(s), writes \(opcua.writes ? "enabled" : "disabled")")
        }
        return lines.joined(separator: "\n")
    }
}
