// View service set (Part 4 §5.8): Browse, BrowseNext,
// TranslateBrowsePathsToNodeIds, RegisterNodes, UnregisterNodes.
// Not implemented: QueryFirst/QueryNext (Query service set).

extension UAServerCore {
    /// Continuation points a session may hold (ServerCapabilities reports it).
    static let maxContinuationPoints = 16

    func registerView() {
        register(UAIds.Encoding.browseRequest, UAIds.Encoding.browseResponse) {
            (request: BrowseRequest, context) throws(ServiceError) in
            let session = try context.requireSession()
            try self.checkOperationCount(request.nodesToBrowse.count)
            guard request.view.viewId.isNull else { throw ServiceError(.badViewIdUnknown) }
            let results = request.nodesToBrowse.map {
                self.browse($0, maxReferences: Int(request.requestedMaxReferencesPerNode), session: session)
            }
            return BrowseResponse(responseHeader: context.responseHeader(), results: results)
        }

        register(UAIds.Encoding.browseNextRequest, UAIds.Encoding.browseNextResponse) {
            (request: BrowseNextRequest, context) throws(ServiceError) in
            let session = try context.requireSession()
            try self.checkOperationCount(request.continuationPoints.count)
            let results = request.continuationPoints.map { point -> BrowseResult in
                guard let point, let remaining = session.continuationPoints.removeValue(forKey: point) else {
                    return BrowseResult(statusCode: .badContinuationPointInvalid)
                }
                if request.releaseContinuationPoints { return BrowseResult(statusCode: .good) }
                return self.page(remaining, maxReferences: remaining.count, session: session)
            }
            return BrowseNextResponse(responseHeader: context.responseHeader(), results: results)
        }

        register(UAIds.Encoding.translateBrowsePathsToNodeIdsRequest,
                 UAIds.Encoding.translateBrowsePathsToNodeIdsResponse) {
            (request: TranslateBrowsePathsToNodeIdsRequest, context) throws(ServiceError) in
            _ = try context.requireSession()
            try self.checkOperationCount(request.browsePaths.count)
            return TranslateBrowsePathsToNodeIdsResponse(responseHeader: context.responseHeader(),
                                                         results: request.browsePaths.map(self.translate))
        }

        register(UAIds.Encoding.registerNodesRequest, UAIds.Encoding.registerNodesResponse) {
            (request: RegisterNodesRequest, context) throws(ServiceError) in
            _ = try context.requireSession()
            try self.checkOperationCount(request.nodesToRegister.count)
            // NodeIds are already direct keys: the registered id is the node's own.
            return RegisterNodesResponse(responseHeader: context.responseHeader(),
                                         registeredNodeIds: request.nodesToRegister)
        }

        register(UAIds.Encoding.unregisterNodesRequest, UAIds.Encoding.unregisterNodesResponse) {
            (request: UnregisterNodesRequest, context) throws(ServiceError) in
            _ = try context.requireSession()
            try self.checkOperationCount(request.nodesToUnregister.count)
            return UnregisterNodesResponse(responseHeader: context.responseHeader())
        }
    }

    func checkOperationCount(_ count: Int) throws(ServiceError) {
        guard count > 0 else { throw ServiceError(.badNothingToDo) }
        guard count <= config.maxNodesPerRequest else { throw ServiceError(.badTooManyOperations) }
    }

    func browse(_ description: BrowseDescription, maxReferences: Int, session: UASession) -> BrowseResult {
        guard addressSpace[description.nodeId] != nil else { return BrowseResult(statusCode: .badNodeIdUnknown) }
        guard (0...2).contains(description.browseDirection.rawValue) else {
            return BrowseResult(statusCode: .badBrowseDirectionInvalid)
        }
        let filterType = description.referenceTypeId
        if !filterType.isNull {
            guard let type = addressSpace[filterType], type.nodeClass == .referenceType else {
                return BrowseResult(statusCode: .badReferenceTypeIdInvalid)
            }
        }
        let mask = description.resultMask
        var found: [ReferenceDescription] = []
        for reference in addressSpace.references(of: description.nodeId) {
            switch description.browseDirection {
            case .forward where !reference.isForward, .inverse where reference.isForward: continue
            default: break
            }
            if !filterType.isNull {
                let matches = description.includeSubtypes
                    ? addressSpace.isSubtype(reference.referenceType, of: filterType)
                    : reference.referenceType == filterType
                if !matches { continue }
            }
            guard let target = addressSpace[reference.target] else { continue }
            if description.nodeClassMask != 0 && UInt32(target.nodeClass.rawValue) & description.nodeClassMask == 0 {
                continue
            }
            // Part 4 §7.6 BrowseResultMask: fields not asked for stay null.
            found.append(ReferenceDescription(
                referenceTypeId: mask & 0x01 != 0 ? reference.referenceType : .null,
                isForward: mask & 0x02 != 0 ? reference.isForward : false,
                nodeId: ExpandedNodeId(target.nodeId),
                browseName: mask & 0x08 != 0 ? target.browseName : .null,
                displayName: mask & 0x10 != 0 ? target.displayName : .null,
                nodeClass: mask & 0x04 != 0 ? target.nodeClass : .unspecified,
                typeDefinition: mask & 0x20 != 0 ? ExpandedNodeId(target.typeDefinition ?? .null) : .null))
        }
        return page(found, maxReferences: maxReferences, session: session)
    }

    /// Returns at most `maxReferences` (0: all) and keeps the rest behind a
    /// continuation point.
    func page(_ references: [ReferenceDescription], maxReferences: Int, session: UASession) -> BrowseResult {
        guard maxReferences > 0, references.count > maxReferences else {
            return BrowseResult(statusCode: .good, continuationPoint: nil, references: references)
        }
        guard session.continuationPoints.count < Self.maxContinuationPoints else {
            return BrowseResult(statusCode: .badNoContinuationPoints)
        }
        session.nextContinuation &+= 1
        var point: [UInt8] = []
        withUnsafeBytes(of: session.nextContinuation.littleEndian) { point.append(contentsOf: $0) }
        session.continuationPoints[point] = Array(references[maxReferences...])
        return BrowseResult(statusCode: .good, continuationPoint: point, references: Array(references[..<maxReferences]))
    }

    /// The longest relative path translated; the address space is a few levels deep.
    static let maxBrowsePathElements = 64

    func translate(_ path: BrowsePath) -> BrowsePathResult {
        guard addressSpace[path.startingNode] != nil else { return BrowsePathResult(statusCode: .badNodeIdUnknown) }
        guard !path.relativePath.elements.isEmpty else { return BrowsePathResult(statusCode: .badNothingToDo) }
        guard path.relativePath.elements.count <= Self.maxBrowsePathElements else {
            return BrowsePathResult(statusCode: .badTooManyOperations)
        }
        var current = [path.startingNode]
        for element in path.relativePath.elements {
            guard element.targetName.name != nil else { return BrowsePathResult(statusCode: .badBrowseNameInvalid) }
            // Each node once: two paths to the same node must not double the work of every later element.
            var next: [NodeId] = []
            var seen: Set<NodeId> = []
            for node in current {
                for reference in addressSpace.references(of: node) where reference.isForward != element.isInverse {
                    if !element.referenceTypeId.isNull {
                        let matches = element.includeSubtypes
                            ? addressSpace.isSubtype(reference.referenceType, of: element.referenceTypeId)
                            : reference.referenceType == element.referenceTypeId
                        if !matches { continue }
                    }
                    if addressSpace[reference.target]?.browseName == element.targetName, seen.insert(reference.target).inserted {
                        next.append(reference.target)
                    }
                }
            }
            if next.isEmpty { return BrowsePathResult(statusCode: .badNoMatch) }
            current = next
        }
        return BrowsePathResult(statusCode: .good, targets: current.map {
            BrowsePathTarget(targetId: ExpandedNodeId($0), remainingPathIndex: UInt32.max)
        })
    }
}
