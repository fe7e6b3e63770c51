@testable import MQTTNorth
import Testing

/// The edge node's session, event by event: bdSeq per MQTT session, seq per message (NBIRTH 0,
/// then 1…255, 0, …), DBIRTH, DDATA and DDEATH by whether a device communicates.
struct SparkplugSessionTests {
    typealias Message = SparkplugSession.DeviceMessage

    @Test func birthsDataAndDeathsFollowCommunication() {
        var session = SparkplugSession(devices: 2)
        #expect(session.nodeBirth() == (seq: 0, bdSeq: 0))
        // Device 0 has data at the birth; device 1 not yet.
        #expect(session.deviceBirth(0) == 1)
        let steps: [(Int, Bool, Message)] = [
            (0, true, .data(seq: 2)),
            (1, false, .none),            // still waiting for its first data: nothing
            (1, true, .birth(seq: 3)),
            (1, true, .data(seq: 4)),
            (0, false, .death(seq: 5)),   // stopped answering
            (0, false, .none),
            (0, true, .birth(seq: 6)),    // back
        ]
        for (step, (device, communicating, expected)) in steps.enumerated() {
            #expect(session.deviceChanged(device, communicating: communicating) == expected, "step \(step + 1)")
        }
        #expect(session.born == [true, true])
    }

    @Test func aRebirthStartsTheSeqAgainAndUnbornsEveryDevice() {
        var session = SparkplugSession(devices: 1)
        _ = session.nodeBirth()
        _ = session.deviceBirth(0)
        _ = session.nextSeq()
        #expect(session.nodeBirth() == (seq: 0, bdSeq: 0) && session.born == [false])
        #expect(session.deviceChanged(0, communicating: true) == .birth(seq: 1))
    }

    @Test func seqWrapsAfter255() {
        var session = SparkplugSession(devices: 0)
        _ = session.nodeBirth()
        for expected in 1...255 { #expect(session.nextSeq() == UInt64(expected)) }
        #expect(session.nextSeq() == 0 && session.nextSeq() == 1)
    }

    @Test func everyLostConnectionGivesTheNextSessionANewBdSeqUpTo255() {
        var session = SparkplugSession(devices: 0)
        #expect(session.connectionLost() == 1 && session.nodeBirth() == (seq: 0, bdSeq: 1))
        for _ in 2...255 { _ = session.connectionLost() }
        #expect(session.bdSeq == 255 && session.connectionLost() == 0)
    }
}
