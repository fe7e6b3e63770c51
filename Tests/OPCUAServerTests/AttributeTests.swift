import Testing
@testable import OPCUAServer
import RailgateCore

struct AttributeTests {
    func read(_ server: ServerHarness, _ items: [ReadValueId], timestamps: TimestampsToReturn = .both) throws -> [DataValue] {
        try server.call(ReadRequest(requestHeader: server.header, timestampsToReturn: timestamps, nodesToRead: items),
                        UAIds.Encoding.readRequest, as: ReadResponse.self).get().results
    }

    @Test func tagValuesCarryQualityAndTimestamps() throws {
        let server = ServerHarness()
        server.openSession()
        let speed = ReadValueId(nodeId: NodeId("acme/l1/m1/speed", namespace: 1), attributeId: AttributeId.value)
        #expect(try read(server, [speed])[0].status == .badWaitingForInitialData)
        server.store(0, SampleValue(uint: 1450))
        let good = try read(server, [speed])[0]
        // A Good status is encoded by its absence.
        #expect(good.value == .scalar(.uInt16(1450)) && (good.status ?? .good) == .good)
        #expect(good.sourceTimestamp == UADateTime(unixNanoseconds: 1_700_000_000_000_000_000))
        #expect(good.serverTimestamp != nil)
        server.store(0, .zero, quality: Quality(reason: .timeout))
        let bad = try read(server, [speed], timestamps: .neither)[0]
        #expect(bad.status == .badTimeout && bad.value == .scalar(.uInt16(1450)))
        #expect(bad.sourceTimestamp == nil && bad.serverTimestamp == nil)
        server.store(0, .zero, quality: Quality(reason: .exception, detail: 2))
        #expect(try read(server, [speed])[0].status == .badDeviceFailure)
        server.store(0, .zero, quality: Quality(reason: .disconnected))
        #expect(try read(server, [speed])[0].status == .badNoCommunication)
    }

    @Test func attributesByNodeClass() throws {
        let server = ServerHarness()
        server.openSession()
        let voltage = NodeId("acme/l1/m1/voltage", namespace: 1)
        let values = try read(server, [
            ReadValueId(nodeId: voltage, attributeId: AttributeId.dataType),
            ReadValueId(nodeId: voltage, attributeId: AttributeId.accessLevel),
            ReadValueId(nodeId: voltage, attributeId: AttributeId.browseName),
            ReadValueId(nodeId: UAIds.hasComponent, attributeId: AttributeId.inverseName),
            ReadValueId(nodeId: voltage, attributeId: AttributeId.isAbstract),
            ReadValueId(nodeId: voltage, attributeId: 99),
            ReadValueId(nodeId: UAIds.objectsFolder, attributeId: AttributeId.value),
        ])
        #expect(values[0].value == .scalar(.nodeId(UAIds.float)))
        #expect(values[1].value == .scalar(.byte(UANode.currentRead)))
        #expect(values[2].value == .scalar(.qualifiedName(QualifiedName("voltage", namespace: 1))))
        #expect(values[3].value == .scalar(.localizedText(LocalizedText("ComponentOf"))))
        #expect(values[4].status == .badAttributeIdInvalid)
        #expect(values[5].status == .badAttributeIdInvalid)
        #expect(values[6].status == .badAttributeIdInvalid)
    }

    @Test func writesAreRefusedWithoutPolicy() throws {
        let server = ServerHarness()
        server.openSession()
        let response = try server.call(WriteRequest(requestHeader: server.header, nodesToWrite: [
            WriteValue(nodeId: NodeId("acme/l1/m1/speed", namespace: 1), attributeId: AttributeId.value,
                       value: DataValue(value: .scalar(.uInt16(1)))),
            WriteValue(nodeId: NodeId("nope", namespace: 1), attributeId: AttributeId.value),
        ]), UAIds.Encoding.writeRequest, as: WriteResponse.self).get()
        #expect(response.results == [.badNotWritable, .badNodeIdUnknown])
    }

    @Test func aWriteWithOverflowingArrayDimensionsBeforeAnySessionIsAFault() {
        // Requests are decoded before their session is looked up: the decoder must refuse this itself.
        let server = ServerHarness()
        let hostile = WriteRequest(nodesToWrite: [WriteValue(nodeId: NodeId("acme/l1/m1/speed", namespace: 1),
            attributeId: AttributeId.value,
            value: DataValue(value: .array(type: .byte, values: [], dimensions: [Int32.max, Int32.max, Int32.max])))])
        let status = server.call(hostile, UAIds.Encoding.writeRequest, as: WriteResponse.self).failureStatus
        #expect(status != nil && status != .good)
    }

    @Test func tooManyOperations() {
        let server = ServerHarness()
        server.openSession()
        let items = Array(repeating: ReadValueId(nodeId: UAIds.server, attributeId: 1), count: 101)
        #expect(server.call(ReadRequest(requestHeader: server.header, nodesToRead: items), UAIds.Encoding.readRequest,
                            as: ReadResponse.self).failureStatus == .badTooManyOperations)
    }
}
