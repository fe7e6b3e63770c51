import NIOCore
import Testing
@testable import OPCUAServer
import RailgateCore

/// A stopped server core is freed with all it held: a gateway replaced by a commit must not keep
/// its OPC UA sessions, subscriptions, address space and tag table alive (found by the
/// `opcua-request` fuzz harness as memory growing ≈ 7 KB per core until the 2 GB limit).
struct LifetimeTests {
    @Test func aStoppedCoreWithSessionsAndSubscriptionsIsFreed() throws {
        weak var core: UAServerCore?
        weak var table: TagTable?
        do {
            let server = ServerHarness()
            core = server.core
            table = server.table
            server.openSession()
            _ = try SubscriptionTests().subscribe(server, items: [NodeId("acme/l1/m1/speed", namespace: 1)])
            #expect(server.core.sessions.count == 1)
            server.loop.advanceTime(by: .seconds(2))
            server.core.stop()
            #expect(server.core.sessions.isEmpty && server.core.services.isEmpty)
            try server.loop.syncShutdownGracefully()
        }
        #expect(core == nil, "the stopped core is still referenced")
        #expect(table == nil, "the stopped core's tag table is still referenced")
    }
}
