import Testing
@testable import OPCUAServer

/// Golden bytes for the built-in types; the examples are Part 6's own where it gives them.
struct EncodingTests {
    @Test func nodeIdCompactForms() throws {
        // Part 6 §5.2.2.9 examples.
        #expect(NodeId(72).encoded == [0x00, 0x48])
        #expect(NodeId(1025, namespace: 5).encoded == [0x01, 0x05, 0x01, 0x04])
        #expect(NodeId("Hot水", namespace: 1).encoded == [0x03, 0x01, 0x00, 0x06, 0, 0, 0, 0x48, 0x6F, 0x74, 0xE6, 0xB0, 0xB4])
        #expect(NodeId(70000, namespace: 2).encoded == [0x02, 0x02, 0x00, 0x70, 0x11, 0x01, 0x00])
        for id in [NodeId(72), NodeId(1025, namespace: 5), NodeId("a/b", namespace: 2), NodeId(70000, namespace: 300),
                   NodeId(namespace: 3, .opaque([1, 2, 3]))] {
            #expect(try NodeId(decoding: id.encoded) == id)
        }
    }

    @Test func expandedNodeIdFlags() throws {
        let id = ExpandedNodeId(NodeId(5), namespaceUri: "urn:x", serverIndex: 2)
        #expect(id.encoded.first == 0xC0)
        #expect(try ExpandedNodeId(decoding: id.encoded) == id)
        #expect(throws: UADecodingError.self) { try NodeId(decoding: id.encoded) }
    }

    @Test func stringsNullAndEmptyDiffer() throws {
        var w = UAWriter()
        w.writeString(nil)
        w.writeString("")
        #expect(w.bytes == [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        var r = UAReader(w.bytes)
        #expect(try r.readString() == nil)
        #expect(try r.readString() == "")
    }

    @Test func variantScalarsAndArrays() throws {
        #expect(Variant.scalar(.double(1.5)).encoded == [0x0B, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F])
        #expect(Variant.scalar(.boolean(true)).encoded == [0x01, 0x01])
        let array = Variant.array(type: .int32, values: [.int32(1), .int32(2)], dimensions: nil)
        #expect(array.encoded == [0x86, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0])
        let matrix = Variant.array(type: .byte, values: [.byte(1), .byte(2), .byte(3), .byte(4)], dimensions: [2, 2])
        #expect(try Variant(decoding: matrix.encoded) == matrix)
        #expect(try Variant(decoding: [0x00]) == .empty)
    }

    @Test func dataValueMaskAndOrder() throws {
        let value = DataValue(value: .scalar(.float(2)), status: .badTimeout,
                              sourceTimestamp: UADateTime(ticks: 1), serverTimestamp: UADateTime(ticks: 2))
        let bytes = value.encoded
        #expect(bytes.first == 0x0F)
        #expect(try DataValue(decoding: bytes) == value)
        // A Good status is implied by its absence.
        #expect(DataValue(value: .scalar(.boolean(true)), status: .good).encoded == [0x01, 0x01, 0x01])
    }

    @Test func localizedTextAndQualifiedName() throws {
        #expect(LocalizedText("Hi").encoded == [0x02, 2, 0, 0, 0, 0x48, 0x69])
        #expect(LocalizedText(nil).encoded == [0x00])
        #expect(QualifiedName("x", namespace: 2).encoded == [2, 0, 1, 0, 0, 0, 0x78])
    }

    @Test func dateTimeFromUnixTime() {
        // 2024-01-01T00:00:00Z
        let t = UADateTime(unixNanoseconds: 1_704_067_200_000_000_000)
        #expect(t.ticks == 133_485_408_000_000_000)
        #expect(t.unixNanoseconds == 1_704_067_200_000_000_000)
    }

    @Test func truncatedInputIsAnErrorNotACrash() throws {
        let request = ReadRequest(nodesToRead: [ReadValueId(nodeId: NodeId(2258), attributeId: 13)])
        let bytes = request.encoded
        for cut in 0..<bytes.count {
            #expect(throws: UADecodingError.self) { try ReadRequest(decoding: Array(bytes[..<cut])) }
        }
        #expect(try ReadRequest(decoding: bytes) == request)
    }

    @Test func hostileCountsAreRejected() {
        // Array count 0x7FFFFFFF with 4 bytes of payload.
        var r = UAReader([0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3, 4])
        #expect(throws: UADecodingError.self) { try r.readArray { (r: inout UAReader) throws(UADecodingError) in try r.readByte() } }
        var negative = UAReader([0xFE, 0xFF, 0xFF, 0xFF])
        #expect(throws: UADecodingError.badLength(-2, offset: 0)) { try negative.readString() }
    }

    @Test func arrayDimensionsWhoseProductOverflowsAreRejected() throws {
        // Three dimensions of 2³¹-1: their product does not fit in Int; an empty array with them is refused.
        let huge = Variant.array(type: .byte, values: [], dimensions: [Int32.max, Int32.max, Int32.max])
        #expect(throws: UADecodingError.self) { try Variant(decoding: huge.encoded) }
        let negative = Variant.array(type: .byte, values: [], dimensions: [-1, 0])
        #expect(throws: UADecodingError.self) { try Variant(decoding: negative.encoded) }
        let zero = Variant.array(type: .byte, values: [], dimensions: [Int32.max, 0])
        #expect(try Variant(decoding: zero.encoded) == zero)
        #expect(Variant.elementCount([Int32.max, Int32.max, Int32.max]) == nil)
        #expect(Variant.elementCount([3, 4]) == 12)
    }

    @Test func arrayElementsOfAMessageAreBoundedTogether() throws {
        // Two arrays of empty Variants, each within the per-array limit, together past the message's budget.
        let half = UAReader.maxElements / 2 + 1
        var writer = UAWriter()
        for _ in 0..<2 {
            writer.writeInt32(Int32(half))
            for _ in 0..<half { writer.writeByte(0) }
        }
        var reader = UAReader(writer.bytes)
        let first = try reader.readArray(of: Variant.self)
        #expect(first.count == half)
        #expect(throws: UADecodingError.self) { try reader.readArray(of: Variant.self) }
    }

    @Test func deeplyNestedVariantsAreRejected() {
        // A Variant holding an array of Variants, 100 levels deep.
        var bytes: [UInt8] = []
        for _ in 0..<100 { bytes += [0x98, 1, 0, 0, 0] }
        bytes += [0x00]
        #expect(throws: UADecodingError.self) { try Variant(decoding: bytes) }
    }

    @Test func unknownEncodingBytes() {
        #expect(throws: UADecodingError.badEncoding("NodeId encoding 0x7", offset: 0)) { try NodeId(decoding: [0x07, 0]) }
        #expect(throws: UADecodingError.self) { try Variant(decoding: [0x3F]) }
        #expect(throws: UADecodingError.self) { try ExtensionObject(decoding: [0x00, 0x01, 0x05]) }
    }

    @Test func generatedStructuresRoundTrip() throws {
        let response = GetEndpointsResponse(endpoints: [EndpointDescription(
            endpointUrl: "opc.tcp://127.0.0.1:4840", securityMode: .none,
            securityPolicyUri: "http://opcfoundation.org/UA/SecurityPolicy#None",
            userIdentityTokens: [UserTokenPolicy(policyId: "anonymous", tokenType: .anonymous)])])
        #expect(try GetEndpointsResponse(decoding: response.encoded) == response)
        #expect(StatusCode.badNodeIdUnknown.rawValue == 0x8034_0000)
        #expect(StatusCode.badNodeIdUnknown.description == "BadNodeIdUnknown (0x80340000)")
        #expect(UAIds.Encoding.readRequest == NodeId(631))
        #expect(UAIds.objectsFolder == NodeId(85))
    }
}
