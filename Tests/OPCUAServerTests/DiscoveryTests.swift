import Testing
@testable import OPCUAServer

struct DiscoveryTests {
    @Test func getEndpointsNeedsNoSession() throws {
        let server = ServerHarness()
        let response = try server.call(GetEndpointsRequest(requestHeader: server.header), UAIds.Encoding.getEndpointsRequest,
                                       as: GetEndpointsResponse.self).get()
        #expect(response.endpoints.map(\.endpointUrl) == ["opc.tcp://gw:4840"])
        #expect(response.endpoints[0].securityMode == .none)
        #expect(response.endpoints[0].userIdentityTokens.map(\.tokenType) == [.anonymous])
        let filtered = try server.call(GetEndpointsRequest(requestHeader: server.header, profileUris: ["urn:other"]),
                                       UAIds.Encoding.getEndpointsRequest, as: GetEndpointsResponse.self).get()
        #expect(filtered.endpoints.isEmpty)
    }

    @Test func findServersAnswersWithItself() throws {
        let server = ServerHarness()
        let response = try server.call(FindServersRequest(requestHeader: server.header), UAIds.Encoding.findServersRequest,
                                       as: FindServersResponse.self).get()
        #expect(response.servers.map(\.applicationUri) == ["urn:railgate:test"])
        #expect(response.servers[0].applicationType == .server)
    }

    @Test func unknownServicesFaultWithTheRequestHandle() throws {
        let server = ServerHarness()
        var writer = UAWriter()
        NodeId(488).encode(to: &writer)  // AddNodesRequest (NodeManagement is not served)
        RequestHeader(requestHandle: 42).encode(to: &writer)
        var fault: UAResponse?
        server.core.handle(writer.bytes, channelId: 1) { fault = $0 }
        var reader = UAReader(fault?.bytes ?? [])
        #expect(try NodeId(from: &reader) == UAIds.Encoding.serviceFault)
        let header = try ServiceFault(from: &reader).responseHeader
        #expect(header.serviceResult == .badServiceUnsupported && header.requestHandle == 42)
    }
}
