import Testing
@testable import RailgateCore

struct DeviceTableTests {
    static func tag(_ device: String, _ name: String) -> Tag {
        Tag(name: name, device: device, path: "a/\(device)/\(name)", dataType: .uint16)
    }

    @Test func devicesComeInTheOrderOfTheirFirstTagWithTheirTags() {
        let devices = DeviceTable(tags: [Self.tag("m1", "a"), Self.tag("m1", "b"), Self.tag("dp", "x"), Self.tag("can", "y"),
                                         Self.tag("can", "z")])
        #expect(devices.names == ["m1", "dp", "can"])
        #expect(devices.tags == [[0, 1], [2], [3, 4]])
        #expect(devices.deviceOfTag == [0, 0, 1, 2, 2])
        #expect(devices.index(of: "dp") == 1 && devices.index(of: "nobody") == nil)
        #expect(devices.indices == 0..<3)
    }

    @Test func healthComesFromItsSourceForKnownDevicesOnly() {
        let good = DeviceHealth(quality: .good, requests: 5, errors: 0, lastError: nil, lastCycleNs: 1)
        let devices = DeviceTable(tags: [Self.tag("m1", "a"), Self.tag("m2", "b")]) { name in name == "m1" ? good : nil }
        #expect(devices.health(0) == good && devices.health(named: "m1") == good)
        #expect(devices.health(1) == nil && devices.health(named: "m2") == nil)
        // Out of range or unknown: nil, never a trap, never the source asked for a stranger.
        #expect(devices.health(2) == nil && devices.health(-1) == nil && devices.health(named: "m9") == nil)
        #expect(DeviceTable(tags: []).count == 0)
    }
}
