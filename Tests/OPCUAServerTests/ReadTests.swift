import Testing
@testable import OPCUAServer
@testable import RailgateCore

/// Read answers tag values from the TagTable straight into its response (Services/Read.swift);
/// these tests hold it to the bytes the general path (`read(_:timestamps:)`, DataValue) gives.
struct ReadTests {
    static let tags = [
        Tag(name: "speed", device: "m1", path: "acme/l1/m1/speed", dataType: .uint16),
        Tag(name: "voltage", device: "m1", path: "acme/l1/m1/voltage", dataType: .float32),
        Tag(name: "label", device: "m1", path: "acme/l1/m1/label", dataType: .string, stringLength: 8),
        Tag(name: "run", device: "m1", path: "acme/l1/m1/run", dataType: .bool),
        Tag(name: "count", device: "m1", path: "acme/l1/m1/count", dataType: .int64),
        Tag(name: "level", device: "m1", path: "acme/l1/m1/level", dataType: .uint16, scaling: Scaling(scale: 0.1)),
        Tag(name: "trim", device: "m1", path: "acme/l1/m1/trim", dataType: .int8),
        Tag(name: "energy", device: "m1", path: "acme/l1/m1/energy", dataType: .uint64),
        Tag(name: "flow", device: "m1", path: "acme/l1/m1/flow", dataType: .float64),
        Tag(name: "ü€", device: "m1", path: "acme/l1/m1/ü€", dataType: .int32),
    ]

    static func item(_ path: String, _ attribute: UInt32 = AttributeId.value, namespace: UInt16 = 1) -> ReadValueId {
        ReadValueId(nodeId: NodeId(path, namespace: namespace), attributeId: attribute)
    }

    /// Stores a sample with a fixed gateway timestamp (the general path would otherwise read the clock).
    static func store(_ table: TagTable, _ tag: Int, _ value: SampleValue, _ quality: Quality = .good, text: String = "") {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { buffer in
            table.store(Sample(tag: UInt32(tag), quality: quality, timestamp: 1_700_000_000_123_456_700, value: value),
                        gatewayTimestamp: 1_700_000_000_223_456_700,
                        text: text.isEmpty ? nil : UnsafeBufferPointer(buffer))
        }
    }

    /// Sends a Read and checks its bytes against the general path's answer to the same items.
    static func expectSameAsGeneralPath(_ server: ServerHarness, _ items: [ReadValueId], _ timestamps: TimestampsToReturn,
                                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let request = ReadRequest(requestHeader: server.header, timestampsToReturn: timestamps, nodesToRead: items)
        let response = try #require(server.send(request, UAIds.Encoding.readRequest).first, sourceLocation: sourceLocation)
        var reader = UAReader(response.bytes)
        #expect(try NodeId(from: &reader) == UAIds.Encoding.readResponse, sourceLocation: sourceLocation)
        let decoded = try ReadResponse(from: &reader)
        let expected = UAResponse(ReadResponse(responseHeader: decoded.responseHeader,
                                               results: items.map { server.core.read($0, timestamps: timestamps) }),
                                  UAIds.Encoding.readResponse)
        #expect(response.bytes == expected.bytes, "timestamps \(timestamps.rawValue)", sourceLocation: sourceLocation)
        #expect(decoded.results.count == items.count, sourceLocation: sourceLocation)
    }

    @Test func tagValuesAreTheGeneralPathsBytes() throws {
        let server = ServerHarness(tags: Self.tags)
        server.openSession()
        let values = Self.tags.map { Self.item($0.path) }
        // Items the general path answers, between tag values.
        let others = [
            Self.item("acme/l1/m1/voltage", AttributeId.dataType),
            Self.item("acme/l1/m1/nope"),
            Self.item("acme/l1/m1/speed", namespace: 2),
            Self.item(""),
            ReadValueId(nodeId: NodeId("acme/l1/m1/speed", namespace: 1), attributeId: AttributeId.value, indexRange: "1"),
            ReadValueId(nodeId: NodeId("acme/l1/m1/speed", namespace: 1), attributeId: AttributeId.value,
                        dataEncoding: QualifiedName("Default Binary")),
            ReadValueId(nodeId: NodeId("acme/l1/m1/speed", namespace: 1), attributeId: AttributeId.value,
                        dataEncoding: QualifiedName("Default XML")),
            ReadValueId(nodeId: UAIds.objectsFolder, attributeId: AttributeId.browseName),
        ]
        var mixed: [ReadValueId] = []
        for (index, value) in values.enumerated() {
            mixed.append(value)
            if index < others.count { mixed.append(others[index]) }
        }
        // Never read: status only, no server timestamp of their own (Source and Neither do not read the clock).
        for timestamps in [TimestampsToReturn.source, .neither] {
            try Self.expectSameAsGeneralPath(server, values, timestamps)
            try Self.expectSameAsGeneralPath(server, mixed, timestamps)
        }
        let table = server.table
        Self.store(table, 0, SampleValue(uint: 1450))
        Self.store(table, 1, SampleValue(double: Double(Float(229.5))))
        Self.store(table, 2, .zero, text: "päck")
        Self.store(table, 3, SampleValue(bool: true))
        Self.store(table, 4, SampleValue(int: -5_000_000_000))
        Self.store(table, 5, SampleValue(double: 12.5))
        Self.store(table, 6, SampleValue(int: -7))
        Self.store(table, 7, SampleValue(uint: .max))
        Self.store(table, 8, SampleValue(double: -0.25))
        Self.store(table, 9, SampleValue(int: 42))
        for timestamps in [TimestampsToReturn.source, .server, .both, .neither] {
            try Self.expectSameAsGeneralPath(server, values, timestamps)
            try Self.expectSameAsGeneralPath(server, mixed, timestamps)
            try Self.expectSameAsGeneralPath(server, [values[2], values[2], values[0]], timestamps)
        }
        // Bad and uncertain qualities keep the last value (or none for a configuration error).
        Self.store(table, 0, .zero, Quality(reason: .timeout))
        Self.store(table, 2, .zero, Quality(reason: .exception, detail: 2))
        Self.store(table, 3, .zero, Quality(reason: .config))
        Self.store(table, 4, SampleValue(int: 3), Quality(reason: .unmappedCode))
        for timestamps in [TimestampsToReturn.source, .server, .both, .neither] {
            try Self.expectSameAsGeneralPath(server, mixed, timestamps)
        }
    }

    func status(_ server: ServerHarness, _ bytes: [UInt8]) -> StatusCode? {
        var responses: [UAResponse] = []
        server.core.handle(bytes, channelId: 1) { responses.append($0) }
        guard responses.count == 1 else { return nil }
        var reader = UAReader(responses[0].bytes)
        guard let type = try? NodeId(from: &reader) else { return nil }
        if type == UAIds.Encoding.serviceFault { return (try? ServiceFault(from: &reader))?.responseHeader.serviceResult }
        return type == UAIds.Encoding.readResponse ? .good : nil
    }

    func encoded(_ request: ReadRequest) -> [UInt8] {
        var writer = UAWriter()
        UAIds.Encoding.readRequest.encode(to: &writer)
        request.encode(to: &writer)
        return writer.bytes
    }

    @Test func badRequestsAreRefused() throws {
        let server = ServerHarness(tags: Self.tags)
        let speed = Self.item("acme/l1/m1/speed")
        #expect(status(server, encoded(ReadRequest(requestHeader: server.header, nodesToRead: [speed]))) == .badSessionIdInvalid)
        server.openSession()
        let good = encoded(ReadRequest(requestHeader: server.header, nodesToRead: [speed, Self.item("acme/l1/m1/label")]))
        #expect(status(server, good) == .good)
        #expect(status(server, encoded(ReadRequest(requestHeader: server.header, nodesToRead: []))) == .badNothingToDo)
        #expect(status(server, encoded(ReadRequest(requestHeader: server.header,
                                                   nodesToRead: Array(repeating: speed, count: 101)))) == .badTooManyOperations)
        #expect(status(server, encoded(ReadRequest(requestHeader: server.header, maxAge: -1, nodesToRead: [speed])))
                == .badMaxAgeInvalid)
        #expect(status(server, encoded(ReadRequest(requestHeader: server.header, timestampsToReturn: .invalid,
                                                   nodesToRead: [speed]))) == .badTimestampsToReturnInvalid)
        // Cut anywhere, a request is a decoding error, never a partial answer.
        for length in stride(from: good.count - 1, to: 0, by: -1) {
            let answer = status(server, Array(good[..<length]))
            #expect(answer == .badDecodingError || answer == .badServiceUnsupported, "cut at \(length)")
        }
        // The string NodeId's length claims more than the message holds; then a negative one.
        let identifier = try #require(good.firstRange(of: Array("acme/l1/m1/speed".utf8))).lowerBound
        for length: Int32 in [Int32(good.count), -2] {
            var lying = good
            withUnsafeBytes(of: length.littleEndian) { lying.replaceSubrange(identifier - 4..<identifier, with: $0) }
            #expect(status(server, lying) == .badDecodingError)
        }
        // An item count past the message.
        let countOffset = identifier - 4 - 2 - 1 - 4
        var counted = good
        withUnsafeBytes(of: Int32(1000).littleEndian) { counted.replaceSubrange(countOffset..<countOffset + 4, with: $0) }
        #expect(status(server, counted) == .badDecodingError)
    }
}
