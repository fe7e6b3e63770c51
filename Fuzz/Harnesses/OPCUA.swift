// OPC UA harnesses: the whole connection pipeline from the first byte (`opcua-stream`), and
// service requests on an open channel, without and with an activated session (`opcua-request`).
import Logging
import NIOCore
import NIOEmbedded
@testable import OPCUAServer
@testable import RailgateConfig
import RailgateCore
import RailgateHistory

/// The gateway model both OPC UA harnesses serve: one device, five tags of the main types, two
/// writable, writes executed at once by `InstantWrites`; speed and voltage keep a history of 40
/// values (20 stored at start) for HistoryRead.
final class UAFixture {
    let table: TagTable
    let config: OPCUAConfig
    let identity: ServerIdentity
    let space: AddressSpace
    let writes: WriteRouter
    let history: HistoryStore?
    let alarms: AlarmEngine
    /// The first stored value's source time (one a second after it).
    static let historyStart: Int64 = 1_796_000_000_000_000_000
    static let quiet = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

    init() {
        table = TagTable(tags: [
            Tag(name: "speed", device: "m1", path: "acme/l1/m1/speed", dataType: .uint16, unit: "r/min", writable: true),
            Tag(name: "voltage", device: "m1", path: "acme/l1/m1/voltage", dataType: .float32, unit: "V",
                writable: true, range: 0...400),
            Tag(name: "count", device: "m1", path: "acme/l1/m1/count", dataType: .int32),
            Tag(name: "running", device: "m1", path: "acme/l1/m1/running", dataType: .bool),
            Tag(name: "label", device: "m1", path: "acme/l1/m1/label", dataType: .string, stringLength: 8),
            Tag(name: "speed_limits", device: "m1", path: "acme/l1/m1/speed_limits", dataType: .uint16,
                codes: AlarmEngine.stateCodes),
        ])
        // A limit alarm on speed, raised for each input (`core`).
        alarms = AlarmEngine(definitions: [
            AlarmDefinition(name: "speed_limits", tag: 0, output: 5,
                            kind: .limit(highHigh: 900, high: 500, low: 10, lowLow: nil, deadband: 5), severity: 700,
                            message: "speed out of range")])
        config = OPCUAConfig(host: "127.0.0.1", port: 4840, endpointHost: "gw", maxSessions: 4,
                             maxSubscriptionsPerSession: 4, maxMonitoredItems: 200, maxMessageSize: 1 << 20,
                             maxNodesPerRequest: 100, anonymous: true, users: [], writes: true)
        let directory = Scratch.directory("opcua-history")
        history = try? HistoryStore(
            config: HistoryConfig(directory: directory, maxBytes: 1 << 30, syncIntervalMs: 1000, maxReadValues: 8, tags: []),
            tags: table.tags, historized: [HistorizedTag(index: 0, maxValues: 40, maxAgeNs: nil),
                                           HistorizedTag(index: 1, maxValues: 40, maxAgeNs: nil)], logger: Self.quiet)
        for second in 0..<20 {
            for tag in [UInt32(0), 1] {
                history?.queue.push(Sample(tag: tag, quality: second % 7 == 6 ? Quality(reason: .timeout) : .good,
                                           timestamp: Self.historyStart + Int64(second) * 1_000_000_000,
                                           value: tag == 0 ? SampleValue(uint: UInt64(second)) : SampleValue(double: Double(second) / 3)),
                                    text: UnsafeBufferPointer(start: nil, count: 0))
            }
        }
        history?.drain()
        var builder = AddressSpaceBuilder()
        var model = GatewayModel(namespaceUri: "urn:railgate:fuzz", hierarchy: ["acme", "l1"], table: table,
                                 writesEnabled: true, devices: DeviceTable(tags: table.tags), history: history)
        model.alarms = alarms
        let gateway = builder.addGateway(model)
        let conditions = builder.addConditions(model, tagNodes: gateway.tagNodes, tagDevices: gateway.tagDevices)
        identity = ServerIdentity(applicationUri: "urn:railgate:fuzz", productUri: "urn:railgate", productName: "fuzz",
                                  softwareVersion: "0", startTime: UADateTime(ticks: 1), maxNodesPerRequest: 100,
                                  maxMonitoredItemsPerCall: 100, maxBrowseContinuationPoints: 16)
        builder.addNamespace0(identity: identity, objects: [gateway.top])
        space = builder.build(table: table, tagNodes: gateway.tagNodes, tagDevices: gateway.tagDevices, history: history,
                              alarms: alarms, conditions: conditions)
        let target = InstantWrites()
        writes = WriteRouter(table: table, writesEnabled: true, targets: Array(repeating: target, count: table.count),
                             audit: { _ in })
    }

    /// A new server for one input: the alarm raised again (unacknowledged, its change queued),
    /// whatever the previous input acknowledged.
    func core(_ loop: EmbeddedEventLoop) -> UAServerCore {
        _ = alarms.takeEvents()
        for speed: UInt64 in [100, 950] {
            alarms.observe(0, Sample(tag: 0, quality: .good, timestamp: Self.historyStart, value: SampleValue(uint: speed)),
                           kind: .uint, now: Self.historyStart) { _ in }
        }
        return UAServerCore(config: config, addressSpace: space, identity: identity, eventLoop: loop, writes: writes,
                     logger: Self.quiet)
    }
}

/// A bus that carries out every write at once.
final class InstantWrites: TagWriteTarget {
    func submitWrite(tag: Int, value: RailgateCore.WriteValue, completion: @escaping @Sendable (WriteOutcome) -> Void) {
        completion(.done)
    }
}

/// A connection's bytes from the first one: Hello, OpenSecureChannel, messages, in any order and
/// split anywhere (the first octet says where the input is cut into two reads).
final class UAStreamHarness: Harness {
    static let name = "opcua-stream"
    let fixture = UAFixture()

    required init() {}

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        weak var stopped: UAServerCore?
        serve(input) { stopped = $0 }
        expect(stopped == nil, "a stopped server core is still referenced (it would leak with all it holds)")
    }

    private func serve(_ input: UnsafeBufferPointer<UInt8>, core made: (UAServerCore) -> Void) {
        var reader = InputReader(input)
        let cut = Int(reader.byte()) * 16
        let rest = reader.rest()
        let loop = EmbeddedEventLoop()
        let core = fixture.core(loop)
        made(core)
        let channel = EmbeddedChannel(loop: loop)
        try! channel.pipeline.syncOperations.addHandler(UAConnectionHandler(core: core))
        _ = try? channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4840)).wait()
        let split = rest.startIndex + min(cut, rest.count)
        for part in [rest[..<split], rest[split...]] where !part.isEmpty && channel.isActive {
            _ = try? channel.writeInbound(channel.allocator.buffer(bytes: part))
            while let _ = try? channel.readOutbound(as: ByteBuffer.self) {}
        }
        // Deadlines: Hello, an unfinished request, session timeouts, publishing intervals.
        loop.advanceTime(by: .seconds(70))
        while let _ = try? channel.readOutbound(as: ByteBuffer.self) {}
        _ = try? channel.finish()
        core.stop()
        expect(core.connectionCount == 0, "connection still counted after close: \(core.connectionCount)")
        expect(core.bufferedRequestBytes == 0, "request bytes still counted after close: \(core.bufferedRequestBytes)")
    }

    static func seeds() -> [[UInt8]] {
        let hello = UAChunk(.hello, body: UAHello(receiveBufferSize: 65535, sendBufferSize: 65535, maxMessageSize: 0,
                                                  maxChunkCount: 0, endpointUrl: "opc.tcp://gw:4840").encoded).bytes
        var w = UAWriter()
        w.writeUInt32(0)
        w.writeString(SecurityPolicy.none.uri)
        w.writeByteString(nil)
        w.writeByteString(nil)
        w.writeUInt32(1)
        w.writeUInt32(1)
        UAIds.Encoding.openSecureChannelRequest.encode(to: &w)
        OpenSecureChannelRequest(requestType: .issue, securityMode: .none, requestedLifetime: 60_000).encode(to: &w)
        let open = UAChunk(.open, body: w.bytes).bytes
        func message(_ sequence: UInt32, _ body: [UInt8], _ type: UAChunk.ChunkType = .final) -> [UInt8] {
            var w = UAWriter()
            w.writeUInt32(1)  // the channel id the first connection gets
            w.writeUInt32(1)
            w.writeUInt32(sequence)
            w.writeUInt32(sequence)
            w.writeBytes(body)
            return UAChunk(.message, type, body: w.bytes).bytes
        }
        let requests = UARequestHarness.requestBodies(token: .null)
        var seeds: [[UInt8]] = [[0] + hello, [0] + hello + open]
        for (index, body) in requests.enumerated() {
            seeds.append([0] + hello + open + message(2, body))
            seeds.append([UInt8(index)] + hello + open + message(2, Array(body.prefix(5)), .intermediate)
                         + message(3, Array(body.dropFirst(5))))
        }
        seeds.append([0] + hello + open + message(2, requests[0]) + UAChunk(.close, body: [0, 0, 0, 1]).bytes)
        return seeds
    }
}

/// Service requests on an open Security None channel. Input: a flags octet (bit 0: create and
/// activate an anonymous session first and put its token in each request; the other bits: seconds
/// to let pass at the end, for publishing and session timeouts), then up to eight requests, each
/// a service octet (an index into the sorted service table), a 16-bit length and the request's
/// fields after its RequestHeader.
final class UARequestHarness: Harness {
    static let name = "opcua-request"
    let fixture = UAFixture()
    let services: [NodeId]

    required init() {
        let loop = EmbeddedEventLoop()
        let core = fixture.core(loop)
        services = Self.sorted(core.services.keys.map { NodeId($0) })
        core.stop()
    }

    static func sorted(_ ids: some Sequence<NodeId>) -> [NodeId] { ids.sorted { "\($0)" < "\($1)" } }

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        weak var stopped: UAServerCore?
        serve(input) { stopped = $0 }
        expect(stopped == nil, "a stopped server core is still referenced (it would leak with all it holds)")
    }

    private func serve(_ input: UnsafeBufferPointer<UInt8>, core made: (UAServerCore) -> Void) {
        var reader = InputReader(input)
        let flags = reader.byte()
        let loop = EmbeddedEventLoop()
        let core = fixture.core(loop)
        made(core)
        core.channelOpened(1, .unsecured)
        var token = NodeId.null
        if flags & 1 != 0 { token = Self.openSession(core) }
        var handle: UInt32 = 10
        for _ in 0..<8 where reader.remaining > 0 {
            let service = services[Int(reader.byte()) % services.count]
            let fields = reader.take(Int(reader.uint16()))
            handle += 1
            var writer = UAWriter()
            service.encode(to: &writer)
            RequestHeader(authenticationToken: token, requestHandle: handle, timeoutHint: 1000).encode(to: &writer)
            writer.writeBytes(Array(fields))
            core.handle(writer.bytes, channelId: 1) { response in
                expect(response.bytes.count <= 1 << 24, "a response of \(response.bytes.count) bytes")
            }
        }
        loop.advanceTime(by: .seconds(Int64(flags >> 1)))
        core.channelClosed(1)
        core.stop()
    }

    /// CreateSession + ActivateSession (anonymous); the session's token.
    static func openSession(_ core: UAServerCore) -> NodeId {
        var token = NodeId.null
        var writer = UAWriter()
        UAIds.Encoding.createSessionRequest.encode(to: &writer)
        CreateSessionRequest(requestHeader: RequestHeader(requestHandle: 1), sessionName: "fuzz",
                             requestedSessionTimeout: 60_000).encode(to: &writer)
        core.handle(writer.bytes, channelId: 1) { response in
            if let created = response.body as? CreateSessionResponse { token = created.authenticationToken }
        }
        writer = UAWriter()
        UAIds.Encoding.activateSessionRequest.encode(to: &writer)
        ActivateSessionRequest(requestHeader: RequestHeader(authenticationToken: token, requestHandle: 2)).encode(to: &writer)
        var activated = false
        core.handle(writer.bytes, channelId: 1) { response in activated = response.body is ActivateSessionResponse }
        expect(activated, "the fixture's anonymous session was not activated")
        return token
    }

    /// Whole request bodies (encoding id, header, fields) the seeds are made of.
    static func requestBodies(token: NodeId) -> [[UInt8]] {
        func body<T: UACodable>(_ id: NodeId, _ request: T) -> [UInt8] {
            var writer = UAWriter()
            id.encode(to: &writer)
            request.encode(to: &writer)
            return writer.bytes
        }
        let header = RequestHeader(authenticationToken: token, requestHandle: 5)
        let speed = NodeId("acme/l1/m1/speed", namespace: 1)
        let voltage = NodeId("acme/l1/m1/voltage", namespace: 1)
        let condition = NodeId("acme/l1/m1/speed_limits#Condition", namespace: 1)
        // The EventId of the server's first event (its start time, then 1).
        var firstEventId: [UInt8] = []
        LittleEndian.append(Int64(1), to: &firstEventId)
        LittleEndian.append(UInt64(1), to: &firstEventId)
        func time(_ second: Int64) -> UADateTime { UADateTime(unixNanoseconds: UAFixture.historyStart + second * 1_000_000_000) }
        func history<T: UACodable>(_ details: T, _ id: NodeId, release: Bool = false, point: [UInt8]? = nil) -> [UInt8] {
            body(UAIds.Encoding.historyReadRequest,
                 HistoryReadRequest(requestHeader: header, historyReadDetails: ExtensionObject(details, encodingId: id),
                                    timestampsToReturn: .both, releaseContinuationPoints: release,
                                    nodesToRead: [HistoryReadValueId(nodeId: speed, continuationPoint: point),
                                                  HistoryReadValueId(nodeId: voltage, continuationPoint: point)]))
        }
        return [
            body(UAIds.Encoding.createSessionRequest,
                 CreateSessionRequest(requestHeader: header, sessionName: "s", requestedSessionTimeout: 60_000)),
            body(UAIds.Encoding.readRequest,
                 ReadRequest(requestHeader: header, nodesToRead: [ReadValueId(nodeId: speed, attributeId: 13)])),
            // Tag values (answered from the tag table directly) between items of the general path.
            body(UAIds.Encoding.readRequest,
                 ReadRequest(requestHeader: header, timestampsToReturn: .source, nodesToRead: [
                    ReadValueId(nodeId: speed, attributeId: 13), ReadValueId(nodeId: voltage, attributeId: 13),
                    ReadValueId(nodeId: NodeId("acme/l1/m1/speeds", namespace: 1), attributeId: 13),
                    ReadValueId(nodeId: voltage, attributeId: 13, indexRange: "0"),
                    ReadValueId(nodeId: speed, attributeId: AttributeId.dataType),
                    ReadValueId(nodeId: voltage, attributeId: 13, dataEncoding: QualifiedName("Default Binary")),
                    ReadValueId(nodeId: speed, attributeId: 13)])),
            body(UAIds.Encoding.browseRequest,
                 BrowseRequest(requestHeader: header, nodesToBrowse: [BrowseDescription(nodeId: NodeId(85))])),
            body(UAIds.Encoding.writeRequest,
                 WriteRequest(requestHeader: header, nodesToWrite: [WriteValue(nodeId: speed, attributeId: 13,
                              value: DataValue(value: .scalar(.uInt16(7))))])),
            body(UAIds.Encoding.createSubscriptionRequest,
                 CreateSubscriptionRequest(requestHeader: header, requestedPublishingInterval: 100,
                                           requestedLifetimeCount: 30, requestedMaxKeepAliveCount: 10,
                                           publishingEnabled: true)),
            body(UAIds.Encoding.createMonitoredItemsRequest, CreateMonitoredItemsRequest(
                requestHeader: header, subscriptionId: 1, timestampsToReturn: .both, itemsToCreate: [
                    MonitoredItemCreateRequest(
                        itemToMonitor: ReadValueId(nodeId: UAIds.server, attributeId: AttributeId.eventNotifier),
                        monitoringMode: .reporting,
                        requestedParameters: MonitoringParameters(clientHandle: 1, samplingInterval: 0, filter: ExtensionObject(
                            EventFilter(selectClauses: [SimpleAttributeOperand(typeDefinitionId: UAIds.baseEventType,
                                                                               browsePath: [QualifiedName("Message")],
                                                                               attributeId: AttributeId.value)]),
                            encodingId: UAIds.Encoding.eventFilter), queueSize: 10, discardOldest: true))])),
            body(UAIds.Encoding.writeRequest,
                 WriteRequest(requestHeader: header, nodesToWrite: [WriteValue(nodeId: speed, attributeId: 13,
                              value: DataValue(value: .scalar(.uInt16(9))))])),
            history(ReadRawModifiedDetails(startTime: time(2), endTime: time(15), numValuesPerNode: 0, returnBounds: true),
                    UAIds.Encoding.readRawModifiedDetails),
            history(ReadRawModifiedDetails(startTime: .null, endTime: time(12), numValuesPerNode: 5, returnBounds: false),
                    UAIds.Encoding.readRawModifiedDetails),
            history(ReadRawModifiedDetails(startTime: time(3), endTime: .null, numValuesPerNode: 0, returnBounds: false),
                    UAIds.Encoding.readRawModifiedDetails, point: [0x48, 1, 0, 0, 0]),
            history(ReadAtTimeDetails(reqTimes: [time(1), time(4) , UADateTime(ticks: .max)], useSimpleBounds: false),
                    UAIds.Encoding.readAtTimeDetails),
            history(ReadRawModifiedDetails(startTime: time(0), endTime: time(30), numValuesPerNode: 0, returnBounds: false),
                    UAIds.Encoding.readRawModifiedDetails, release: true, point: [0x48, 1, 0, 0, 0]),
            body(UAIds.Encoding.callRequest, CallRequest(requestHeader: header, methodsToCall: [
                CallMethodRequest(objectId: UAIds.conditionType, methodId: UAIds.conditionType_ConditionRefresh,
                                  inputArguments: [.scalar(.uInt32(1))]),
                CallMethodRequest(objectId: UAIds.conditionType, methodId: UAIds.conditionType_ConditionRefresh2,
                                  inputArguments: [.scalar(.uInt32(1)), .scalar(.uInt32(1))]),
            ])),
            body(UAIds.Encoding.callRequest, CallRequest(requestHeader: header, methodsToCall: [
                CallMethodRequest(objectId: condition, methodId: UAIds.acknowledgeableConditionType_Acknowledge,
                                  inputArguments: [.scalar(.byteString(firstEventId)), .scalar(.localizedText(LocalizedText("ok")))]),
                CallMethodRequest(objectId: condition, methodId: UAIds.conditionType_AddComment,
                                  inputArguments: [.scalar(.byteString(firstEventId)), .scalar(.localizedText(LocalizedText("c")))]),
            ])),
        ]
    }

    static func seeds() -> [[UInt8]] {
        let names = sorted(UAFixture().core(EmbeddedEventLoop()).services.keys.map { NodeId($0) })
        // Each request's fields, after its encoding id and header, for the service that takes it.
        let headerLength: Int = {
            var writer = UAWriter()
            RequestHeader(authenticationToken: .null, requestHandle: 5).encode(to: &writer)
            return writer.bytes.count
        }()
        var seeds: [[UInt8]] = []
        for bodyBytes in requestBodies(token: .null) {
            var reader = UAReader(bodyBytes)
            guard let id = try? NodeId(from: &reader), let index = names.firstIndex(of: id) else { continue }
            let idLength = bodyBytes.count - reader.remaining
            let fields = Array(bodyBytes.dropFirst(idLength + headerLength))
            let record = [UInt8(index), UInt8(fields.count >> 8), UInt8(fields.count & 0xFF)] + fields
            seeds.append([0] + record)
            seeds.append([1] + record)
            seeds.append([21] + record + record)
        }
        for index in names.indices { seeds.append([1, UInt8(index), 0, 0]) }
        return seeds
    }
}

/// An EventFilter as a client sends it (its binary encoding), compiled and applied to the events
/// Railgate raises: a write event, a session event, a configuration event.
final class UAEventFilterHarness: Harness {
    static let name = "opcua-eventfilter"
    let fixture = UAFixture()
    let events: [UAEvent]

    required init() {
        let core = fixture.core(EmbeddedEventLoop())
        let tag = fixture.table.tags[0]
        var write = UAEvent(type: UAIds.auditWriteUpdateEventType, source: NodeId(tag.path, namespace: 1),
                            sourceName: tag.path, time: 1_796_000_000_000_000_000, message: "write", severity: 100,
                            fields: UAEvent.auditFields(actionNs: 1_796_000_000_000_000_000, status: true, serverId: "urn:x",
                                                        clientUserId: "opcua:anonymous@s1"))
        write.fields["OldValue"] = .scalar(.uInt16(3))
        write.fields["NewValue"] = .scalar(.uInt16(7))
        events = [write, core.configurationEvent(action: "commit", user: "root", file: "/etc/railgate/railgate.yaml",
                                                 digest: String(repeating: "a", count: 64), comment: "line test")]
        core.stop()
    }

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        guard let filter = try? EventFilter(decoding: Array(input)) else { return }
        let (compiled, result, status) = CompiledEventFilter.compile(filter)
        expect(result.selectClauseResults.count <= CompiledEventFilter.maxSelectClauses,
               "\(result.selectClauseResults.count) select clause results")
        guard let compiled else {
            expect(status != .good, "a filter refused with a good status")
            return
        }
        for event in events {
            if let fields = compiled.fields(of: event, in: fixture.space) {
                expect(fields.count == filter.selectClauses.count, "\(fields.count) fields for \(filter.selectClauses.count) clauses")
            }
        }
    }

    static func seeds() -> [[UInt8]] {
        func field(_ name: String) -> SimpleAttributeOperand {
            SimpleAttributeOperand(typeDefinitionId: UAIds.baseEventType, browsePath: [QualifiedName(name)],
                                   attributeId: AttributeId.value)
        }
        func operand<T: UACodable>(_ value: T, _ id: NodeId) -> ExtensionObject { ExtensionObject(value, encodingId: id) }
        let select = ["EventId", "EventType", "SourceName", "Time", "Message", "Severity", "NewValue", "ClientUserId"].map(field)
        let ofType = ContentFilterElement(filterOperator: .ofType, filterOperands: [
            operand(LiteralOperand(value: .scalar(.nodeId(UAIds.auditEventType))), UAIds.Encoding.literalOperand)])
        let inList = ContentFilterElement(filterOperator: .inList, filterOperands: [
            operand(field("EventType"), UAIds.Encoding.simpleAttributeOperand),
            operand(LiteralOperand(value: .scalar(.nodeId(UAIds.auditWriteUpdateEventType))), UAIds.Encoding.literalOperand),
            operand(LiteralOperand(value: .scalar(.nodeId(UAIds.baseEventType))), UAIds.Encoding.literalOperand)])
        let and = ContentFilterElement(filterOperator: .and, filterOperands: [
            operand(ElementOperand(index: 1), UAIds.Encoding.elementOperand),
            operand(ElementOperand(index: 2), UAIds.Encoding.elementOperand)])
        let greater = ContentFilterElement(filterOperator: .greaterThanOrEqual, filterOperands: [
            operand(field("NewValue"), UAIds.Encoding.simpleAttributeOperand),
            operand(LiteralOperand(value: .scalar(.uInt32(5))), UAIds.Encoding.literalOperand)])
        return [
            EventFilter(selectClauses: select, whereClause: ContentFilter(elements: [])).encoded,
            EventFilter(selectClauses: select, whereClause: ContentFilter(elements: [inList])).encoded,
            EventFilter(selectClauses: select, whereClause: ContentFilter(elements: [and, ofType, greater])).encoded,
        ]
    }
}
