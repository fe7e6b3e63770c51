import Logging
import NIOCore
import NIOEmbedded
@testable import OPCUAServer
@testable import RailgateConfig
import RailgateCore
import RailgateHistory

typealias Tag = RailgateCore.Tag

/// A server core on an EmbeddedEventLoop with a small gateway model, and
/// helpers to call services the way a channel does (encoded bytes in,
/// encoded bytes out).
final class ServerHarness {
    let loop = EmbeddedEventLoop()
    let core: UAServerCore
    let table: TagTable
    var token = NodeId.null
    var handle: UInt32 = 0

    init(maxSessions: Int = 4, maxMonitoredItems: Int = 100, anonymous: Bool = true,
         users: [OPCUAConfig.User] = [], history: ((TagTable) -> HistoryStore?)? = nil, tags: [Tag]? = nil) {
        table = TagTable(tags: tags ?? [
            Tag(name: "speed", device: "m1", path: "acme/l1/m1/speed", dataType: .uint16, unit: "r/min"),
            Tag(name: "voltage", device: "m1", path: "acme/l1/m1/voltage", dataType: .float32, unit: "V",
                range: 0...400),
        ])
        let config = OPCUAConfig(host: "127.0.0.1", port: 4840, endpointHost: "gw", maxSessions: maxSessions,
                                 maxSubscriptionsPerSession: 4, maxMonitoredItems: maxMonitoredItems,
                                 maxMessageSize: 1 << 20, maxNodesPerRequest: 100, anonymous: anonymous,
                                 users: users, writes: false)
        var builder = AddressSpaceBuilder()
        let store = history?(table)
        let model = GatewayModel(namespaceUri: "urn:railgate:test", hierarchy: ["acme", "l1"], table: table,
                                 writesEnabled: false, devices: DeviceTable(tags: table.tags), history: store)
        let gateway = builder.addGateway(model)
        let identity = ServerIdentity(applicationUri: "urn:railgate:test", productUri: "urn:railgate", productName: "t",
                                      softwareVersion: "0", startTime: UADateTime(ticks: 1), maxNodesPerRequest: 100,
                                      maxMonitoredItemsPerCall: 100, maxBrowseContinuationPoints: 16)
        builder.addNamespace0(identity: identity, objects: [gateway.top])
        core = UAServerCore(config: config, addressSpace: builder.build(table: table, tagNodes: gateway.tagNodes,
                                                                        tagDevices: gateway.tagDevices, history: store),
                            identity: identity, eventLoop: loop, writes: nil, logger: Logger(label: "test"))
        // Two open (Security None) connections the tests' requests come in on.
        for channel: UInt32 in [1, 2] {
            core.channelOpened(channel, .unsecured)
        }
    }

    var header: RequestHeader {
        handle += 1
        return RequestHeader(authenticationToken: token, requestHandle: handle)
    }

    /// Sends a request; returns the raw responses (Publish may answer later).
    func send<Request: UACodable>(_ request: Request, _ encoding: NodeId, channel: UInt32 = 1) -> [UAResponse] {
        var writer = UAWriter()
        encoding.encode(to: &writer)
        request.encode(to: &writer)
        var responses: [UAResponse] = []
        core.handle(writer.bytes, channelId: channel) { responses.append($0) }
        return responses
    }

    /// Calls a service and decodes its response, or returns the fault's status.
    func call<Request: UACodable, Response: UACodable>(_ request: Request, _ encoding: NodeId,
                                                       as _: Response.Type, channel: UInt32 = 1) -> Result<Response, ServiceError> {
        guard let response = send(request, encoding, channel: channel).first else { return .failure(ServiceError(.badNothingToDo)) }
        var reader = UAReader(response.bytes)
        let type = try! NodeId(from: &reader)
        if type == UAIds.Encoding.serviceFault {
            let fault = try! ServiceFault(from: &reader)
            return .failure(ServiceError(fault.responseHeader.serviceResult))
        }
        return .success(try! Response(from: &reader))
    }

    /// Creates and activates an anonymous session.
    @discardableResult
    func openSession(channel: UInt32 = 1) -> NodeId {
        let created = try! call(CreateSessionRequest(requestHeader: header, sessionName: "test", requestedSessionTimeout: 60_000),
                                UAIds.Encoding.createSessionRequest, as: CreateSessionResponse.self, channel: channel).get()
        token = created.authenticationToken
        _ = try! call(ActivateSessionRequest(requestHeader: header), UAIds.Encoding.activateSessionRequest,
                      as: ActivateSessionResponse.self, channel: channel).get()
        return created.sessionId
    }

    func store(_ tag: Int, _ value: SampleValue, quality: Quality = .good) {
        let ring = SampleRing(minimumCapacity: 4)
        let engine = TagEngine(table: table, rings: [ring], sinks: [])
        ring.push(Sample(tag: UInt32(tag), quality: quality, timestamp: 1_700_000_000_000_000_000, value: value))
        engine.drainOnce()
    }
}
