import Foundation
import Testing
@testable import CANSouth
import RailgateConfig

/// Signals of hardware/dbc/RG_MACHINE.dbc decoded from frames that cantools
/// 45.1 encoded (`message.encode(values).hex()`), and encoded back.
struct SignalCodecTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let dbc = try! DBCFile.load(file: root.appendingPathComponent("hardware/dbc/RG_MACHINE.dbc").path)

    static func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map {
            UInt8(hex[hex.index(hex.startIndex, offsetBy: $0)..<hex.index(hex.startIndex, offsetBy: $0 + 2)], radix: 16)!
        }
    }

    /// Frames and the values cantools decoded from them.
    static let cases: [(message: String, frame: String, values: [String: Double])] = [
        ("EEC1", "03a5719d2f000000", ["EngineTorqueMode": 3, "DriverDemandTorque": 40, "ActualEngineTorque": -12,
                                     "EngineSpeed": 1523.625, "SourceAddress": 0]),
        ("ET1", "7f23d02e00000000", ["CoolantTemp": 87, "FuelTemp": -5, "OilTemp": 101.5]),
        ("BatteryStatus", "9d19fb2e99a00000", ["PackVoltage": 402.17, "PackCurrent": -123.4, "StateOfCharge": 76.5,
                                              "ContactorState": 2, "Fault": 1]),
        ("BatteryCells", "01f00ce20cf90000", ["CellGroup": 1, "CellTempMax": -7, "CellVoltage3": 3.312, "CellVoltage4": 3.298]),
        ("DriveStatus", "00808e427d240000", ["MotorTemp": 71.25, "Efficiency": 93.41]),
    ]

    @Test func decodesWhatCantoolsEncoded() throws {
        for (name, frame, values) in Self.cases {
            let message = try #require(Self.dbc.message(named: name))
            let data = Self.bytes(frame)
            for (signalName, expected) in values {
                let codec = SignalCodec(try #require(message.signal(named: signalName)))
                let raw = try #require(data.withUnsafeBytes { codec.raw($0) })
                #expect(abs(codec.physical(raw) - expected) < 1e-9, "\(name).\(signalName)")
            }
        }
    }

    @Test func encodesWhatCantoolsEncoded() throws {
        for (name, frame, values) in Self.cases {
            let message = try #require(Self.dbc.message(named: name))
            var data = [UInt8](repeating: 0, count: message.length)
            for (signalName, value) in values {
                let codec = SignalCodec(try #require(message.signal(named: signalName)))
                let raw = try #require(codec.raw(forPhysical: value))
                data.withUnsafeMutableBytes { codec.insert(raw, into: $0) }
            }
            #expect(data == Self.bytes(frame), "\(name)")
        }
    }

    @Test func shortFramesAndRangesAreRefused() throws {
        let message = try #require(Self.dbc.message(named: "EEC1"))
        let speed = SignalCodec(try #require(message.signal(named: "EngineSpeed")))
        #expect(speed.lastByte == 4)
        #expect([UInt8](repeating: 0, count: 4).withUnsafeBytes { speed.raw($0) } == nil)
        #expect(speed.raw(forPhysical: 9000) == nil && speed.raw(forPhysical: -1) == nil)
        let current = SignalCodec(try #require(Self.dbc.message(named: "BatteryStatus")?.signal(named: "PackCurrent")))
        #expect(current.raw(forPhysical: -3276.8) == 0x8000 && current.raw(forPhysical: -3276.9) == nil)
    }
}
