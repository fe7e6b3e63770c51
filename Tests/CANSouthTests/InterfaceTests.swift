import Testing
@testable import CANSouth

/// libsocketcan and socket calls on an interface that does not exist name
/// it in their errors (this machine's kernel may also lack AF_CAN entirely).
struct InterfaceTests {
    @Test func aMissingInterfaceIsNamed() {
        do {
            try CANInterfaceControl.configure("rgcan9", bitrate: 250_000, restartMs: 100)
            Issue.record("configured a missing interface")
        } catch {
            #expect(error.description == "CAN interface rgcan9: no such network interface")
        }
        #expect(CANInterfaceControl.state("rgcan9") == nil && CANInterfaceControl.bitrate("rgcan9") == nil)
        #expect(!CANInterfaceControl.restart("rgcan9"))
        do {
            _ = try CANFrameSource.raw(interface: "rgcan9", fd: false, ids: [(0x100, false)])
            Issue.record("opened a missing interface")
        } catch {
            #expect(error.description.hasPrefix("CAN interface rgcan9: "))
            #expect(error.reason.contains("SocketCAN is not available") || error.reason == "no such network interface")
        }
    }

    @Test func aMissingSeqpacketPeerIsNamed() {
        do {
            _ = try CANFrameSource.seqpacket(path: "/nonexistent/rg-can.sock")
            Issue.record("connected")
        } catch {
            #expect(error.description == "CAN interface seqpacket:/nonexistent/rg-can.sock: connect: No such file or directory")
        }
    }
}
