import Testing
@testable import OPCUAServer

struct ViewTests {
    func browse(_ server: ServerHarness, _ node: NodeId, max: UInt32 = 0,
                type: NodeId = UAIds.hierarchicalReferences) throws -> BrowseResult {
        let request = BrowseRequest(requestHeader: server.header, requestedMaxReferencesPerNode: max, nodesToBrowse: [
            BrowseDescription(nodeId: node, browseDirection: .forward, referenceTypeId: type, includeSubtypes: true,
                              nodeClassMask: 0, resultMask: 0x3F)])
        return try server.call(request, UAIds.Encoding.browseRequest, as: BrowseResponse.self).get().results[0]
    }

    @Test func objectsHoldsTheServerAndTheEnterprise() throws {
        let server = ServerHarness()
        server.openSession()
        let result = try browse(server, UAIds.objectsFolder)
        #expect(result.references.map(\.nodeId.nodeId) == [UAIds.server, NodeId("acme", namespace: 1)])
        #expect(result.references.allSatisfy { $0.referenceTypeId == UAIds.organizes && $0.isForward })
        let device = try browse(server, NodeId("acme/l1/m1", namespace: 1))
        #expect(device.references.map(\.browseName.name).prefix(2) == ["speed", "voltage"])
        #expect(device.references[1].typeDefinition.nodeId == UAIds.analogItemType)
    }

    @Test func continuationPointsPage() throws {
        let server = ServerHarness()
        server.openSession()
        let first = try browse(server, UAIds.rootFolder, max: 2)
        #expect(first.references.count == 2)
        let point = try #require(first.continuationPoint)
        let next = try server.call(BrowseNextRequest(requestHeader: server.header, continuationPoints: [point]),
                                   UAIds.Encoding.browseNextRequest, as: BrowseNextResponse.self).get()
        #expect(next.results[0].references.count == 1)  // Root organizes 3 folders
        let again = try server.call(BrowseNextRequest(requestHeader: server.header, continuationPoints: [point]),
                                    UAIds.Encoding.browseNextRequest, as: BrowseNextResponse.self).get()
        #expect(again.results[0].statusCode == .badContinuationPointInvalid)
    }

    @Test func inverseReferencesAreDerived() throws {
        let server = ServerHarness()
        server.openSession()
        let request = BrowseRequest(requestHeader: server.header, nodesToBrowse: [
            BrowseDescription(nodeId: UAIds.objectsFolder, browseDirection: .inverse, resultMask: 0x3F)])
        let result = try server.call(request, UAIds.Encoding.browseRequest, as: BrowseResponse.self).get().results[0]
        #expect(result.references.map(\.nodeId.nodeId) == [UAIds.rootFolder])
    }

    /// A tag's variable is made when asked for, with the references a stored node had: its type
    /// definition and properties forward, its device inverse; its properties and its type
    /// definition name it from their side.
    @Test func tagVariablesAreMadeWithTheirReferences() throws {
        let server = ServerHarness()
        server.openSession()
        let voltage = NodeId("acme/l1/m1/voltage", namespace: 1)
        let space = server.core.addressSpace
        #expect(space[voltage]?.browseName == QualifiedName("voltage", namespace: 1))
        #expect(space.references(of: voltage) == [
            UAReference(UAIds.hasTypeDefinition, to: UAIds.analogItemType),
            UAReference(UAIds.hasProperty, to: NodeId("acme/l1/m1/voltage#EngineeringUnits", namespace: 1)),
            UAReference(UAIds.hasProperty, to: NodeId("acme/l1/m1/voltage#EURange", namespace: 1)),
            UAReference(UAIds.hasComponent, to: NodeId("acme/l1/m1", namespace: 1), forward: false),
        ])
        #expect(space.references(of: NodeId("acme/l1/m1/voltage#EURange", namespace: 1))
            .contains(UAReference(UAIds.hasProperty, to: voltage, forward: false)))
        let analog = space.references(of: UAIds.analogItemType).filter { $0.referenceType == UAIds.hasTypeDefinition }
        #expect(analog == [UAReference(UAIds.hasTypeDefinition, to: NodeId("acme/l1/m1/speed", namespace: 1), forward: false),
                           UAReference(UAIds.hasTypeDefinition, to: voltage, forward: false)])
        // Browsed from the device and back.
        let inverse = BrowseRequest(requestHeader: server.header, nodesToBrowse: [
            BrowseDescription(nodeId: voltage, browseDirection: .inverse, resultMask: 0x3F)])
        let parent = try server.call(inverse, UAIds.Encoding.browseRequest, as: BrowseResponse.self).get().results[0]
        #expect(parent.references.map(\.nodeId.nodeId) == [NodeId("acme/l1/m1", namespace: 1)])
        #expect(space[NodeId("acme/l1/m1/current", namespace: 1)] == nil)
    }

    @Test func badBrowseInput() throws {
        let server = ServerHarness()
        server.openSession()
        #expect(try browse(server, NodeId("nope", namespace: 1)).statusCode == .badNodeIdUnknown)
        #expect(try browse(server, UAIds.rootFolder, type: UAIds.server).statusCode == .badReferenceTypeIdInvalid)
        #expect(server.call(BrowseRequest(requestHeader: server.header), UAIds.Encoding.browseRequest,
                            as: BrowseResponse.self).failureStatus == .badNothingToDo)
    }

    @Test func translateBrowsePaths() throws {
        let server = ServerHarness()
        server.openSession()
        let path = BrowsePath(startingNode: UAIds.objectsFolder, relativePath: RelativePath(elements: [
            "acme", "l1", "m1", "voltage",
        ].map { RelativePathElement(referenceTypeId: UAIds.hierarchicalReferences, includeSubtypes: true,
                                    targetName: QualifiedName($0, namespace: 1)) }))
        var missing = path
        missing.relativePath.elements[3].targetName = QualifiedName("nope", namespace: 1)
        let response = try server.call(TranslateBrowsePathsToNodeIdsRequest(requestHeader: server.header, browsePaths: [path, missing]),
                                       UAIds.Encoding.translateBrowsePathsToNodeIdsRequest,
                                       as: TranslateBrowsePathsToNodeIdsResponse.self).get()
        #expect(response.results[0].targets.map(\.targetId.nodeId) == [NodeId("acme/l1/m1/voltage", namespace: 1)])
        #expect(response.results[1].statusCode == .badNoMatch)
    }

    @Test func translatedPathsVisitEachNodeOnceAndAreBounded() throws {
        let server = ServerHarness()
        server.openSession()
        func element(_ name: String, namespace: UInt16, inverse: Bool = false) -> RelativePathElement {
            RelativePathElement(referenceTypeId: UAIds.hierarchicalReferences, isInverse: inverse, includeSubtypes: true,
                                targetName: QualifiedName(name, namespace: namespace))
        }
        // Down to the enterprise and back up, ten times: still one target, not one per way of getting there.
        let upAndDown = Array(repeating: [element("acme", namespace: 1), element("Objects", namespace: 0, inverse: true)],
                              count: 10).flatMap { $0 } + [element("acme", namespace: 1)]
        let tooLong = Array(repeating: element("acme", namespace: 1), count: 65)
        let response = try server.call(TranslateBrowsePathsToNodeIdsRequest(requestHeader: server.header, browsePaths: [
            BrowsePath(startingNode: UAIds.objectsFolder, relativePath: RelativePath(elements: upAndDown)),
            BrowsePath(startingNode: UAIds.objectsFolder, relativePath: RelativePath(elements: tooLong)),
        ]), UAIds.Encoding.translateBrowsePathsToNodeIdsRequest, as: TranslateBrowsePathsToNodeIdsResponse.self).get()
        #expect(response.results[0].statusCode == .good)
        #expect(response.results[0].targets.count == 1)
        #expect(response.results[1].statusCode == .badTooManyOperations)
    }
}
