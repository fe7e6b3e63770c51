// Attribute service set (Part 4 §5.10): Read (its request handling: Services/Read.swift), Write.
// HistoryRead: Services/History.swift. Not implemented: HistoryUpdate.

import NIOCore
import RailgateCore

/// Attribute ids (Part 6 §A.1, AttributeIds.csv).
enum AttributeId {
    static let nodeId: UInt32 = 1, nodeClass: UInt32 = 2, browseName: UInt32 = 3, displayName: UInt32 = 4
    static let description: UInt32 = 5, writeMask: UInt32 = 6, userWriteMask: UInt32 = 7, isAbstract: UInt32 = 8
    static let symmetric: UInt32 = 9, inverseName: UInt32 = 10, containsNoLoops: UInt32 = 11
    static let eventNotifier: UInt32 = 12, value: UInt32 = 13, dataType: UInt32 = 14, valueRank: UInt32 = 15
    static let arrayDimensions: UInt32 = 16, accessLevel: UInt32 = 17, userAccessLevel: UInt32 = 18
    static let minimumSamplingInterval: UInt32 = 19, historizing: UInt32 = 20, executable: UInt32 = 21
    static let userExecutable: UInt32 = 22
}

extension UAServerCore {
    func registerAttribute() {
        registerRead()
        registerDeferred(UAIds.Encoding.writeRequest) { (request: WriteRequest, context, reply) throws(ServiceError) in
            let session = try context.requireSession()
            try self.checkOperationCount(request.nodesToWrite.count)
            // The client's audit entry id is the reason of its writes (Part 11 mode requires one).
            self.write(request.nodesToWrite, session: session, reason: context.requestHeader.auditEntryId) { results in
                reply(UAResponse(WriteResponse(responseHeader: context.responseHeader(), results: results),
                                   UAIds.Encoding.writeResponse))
            }
        }
    }

    /// Reads one attribute of one node.
    func read(_ item: ReadValueId, timestamps: TimestampsToReturn) -> DataValue {
        guard let node = addressSpace[item.nodeId] else { return DataValue(status: .badNodeIdUnknown) }
        if item.attributeId == AttributeId.value {
            guard node.nodeClass == .variable || node.nodeClass == .variableType else {
                return DataValue(status: .badAttributeIdInvalid)
            }
            if item.indexRange != nil { return DataValue(status: .badIndexRangeInvalid) }
            if !item.dataEncoding.isDefaultOrBinary { return DataValue(status: .badDataEncodingInvalid) }
            return Self.filterTimestamps(currentValue(of: node), timestamps)
        }
        guard let value = attribute(item.attributeId, of: node) else { return DataValue(status: .badAttributeIdInvalid) }
        return DataValue(value: value)
    }

    /// The Value attribute now: from the TagTable for tags.
    func currentValue(of node: UANode) -> DataValue {
        switch node.value {
        case .constant(let value)?:
            return DataValue(value: value, status: .good)
        case .tag(let index)?:
            guard let table = addressSpace.table else { return DataValue(status: .badInternalError) }
            return TagValue.dataValue(table.tags[index], table.state(index))
        case .computed(let compute)?:
            return compute()
        case nil:
            return DataValue(value: .empty, status: .good)
        }
    }

    static func filterTimestamps(_ value: DataValue, _ which: TimestampsToReturn) -> DataValue {
        var result = value
        // The clock is read only for values without a server timestamp of
        // their own (tag values carry when Railgate took them in).
        func now() -> UADateTime { UADateTime(unixNanoseconds: RailgateClock.now()) }
        switch which {
        case .source:
            result.serverTimestamp = nil
        case .server:
            result.sourceTimestamp = nil
            if result.serverTimestamp == nil { result.serverTimestamp = now() }
        case .neither:
            result.sourceTimestamp = nil
            result.serverTimestamp = nil
        default:
            if result.serverTimestamp == nil { result.serverTimestamp = now() }
        }
        return result
    }

    /// Every non-value attribute the node's class has (Part 3 §5).
    func attribute(_ id: UInt32, of node: UANode) -> Variant? {
        let isVariable = node.nodeClass == .variable || node.nodeClass == .variableType
        let isType = node.nodeClass == .objectType || node.nodeClass == .variableType
            || node.nodeClass == .dataType || node.nodeClass == .referenceType
        switch id {
        case AttributeId.nodeId: return .scalar(.nodeId(node.nodeId))
        case AttributeId.nodeClass: return .scalar(.int32(node.nodeClass.rawValue))
        case AttributeId.browseName: return .scalar(.qualifiedName(node.browseName))
        case AttributeId.displayName: return .scalar(.localizedText(node.displayName))
        case AttributeId.description: return .scalar(.localizedText(node.description ?? .null))
        case AttributeId.writeMask, AttributeId.userWriteMask: return .scalar(.uInt32(0))
        case AttributeId.isAbstract where isType: return .scalar(.boolean(node.isAbstract))
        case AttributeId.symmetric where node.nodeClass == .referenceType: return .scalar(.boolean(node.symmetric))
        case AttributeId.inverseName where node.nodeClass == .referenceType:
            return .scalar(.localizedText(node.inverseName ?? .null))
        case AttributeId.eventNotifier where node.nodeClass == .object: return .scalar(.byte(node.eventNotifier))
        case AttributeId.dataType where isVariable: return .scalar(.nodeId(node.dataType))
        case AttributeId.valueRank where isVariable: return .scalar(.int32(node.valueRank))
        case AttributeId.arrayDimensions where isVariable:
            return node.valueRank == 1 ? .array(type: .uInt32, values: [.uInt32(0)], dimensions: nil)
                : .array(type: .uInt32, values: [], dimensions: nil)
        case AttributeId.accessLevel where node.nodeClass == .variable, AttributeId.userAccessLevel where node.nodeClass == .variable:
            return .scalar(.byte(node.accessLevel))
        case AttributeId.minimumSamplingInterval where node.nodeClass == .variable:
            return .scalar(.double(node.minimumSamplingInterval))
        case AttributeId.historizing where node.nodeClass == .variable: return .scalar(.boolean(node.historizing))
        case AttributeId.executable where node.nodeClass == .method, AttributeId.userExecutable where node.nodeClass == .method:
            return .scalar(.boolean(true))
        default: return nil
        }
    }

    /// Writes Value attributes of writable tags through the gateway's write
    /// router (which checks the write policy, queues the write on the bus
    /// thread and audits it); `done` is called on the event loop.
    func write(_ items: [WriteValue], session: UASession, reason: String? = nil, done: @escaping ([StatusCode]) -> Void) {
        var results = Array(repeating: StatusCode.good, count: items.count)
        var pending: [(index: Int, tag: Int, value: RailgateCore.WriteValue)] = []
        for (index, item) in items.enumerated() {
            guard let node = addressSpace[item.nodeId] else { results[index] = .badNodeIdUnknown; continue }
            guard item.attributeId == AttributeId.value else {
                results[index] = node.nodeClass == .variable ? .badNotWritable : .badAttributeIdInvalid
                continue
            }
            guard item.indexRange == nil else { results[index] = .badIndexRangeInvalid; continue }
            guard case .tag(let tagIndex)? = node.value, node.accessLevel & UANode.currentWrite != 0,
                  config.writes, let table = addressSpace.table, writes != nil else {
                results[index] = .badNotWritable
                continue
            }
            guard session.role == .operator else {
                logger.warning("OPC UA write refused: the session's role is read-only", metadata: [
                    "user": "\(session.identity)", "session": "\(session.name)", "tag": "\(table.tags[tagIndex].path)"])
                audit("opcua write refused", "opcua:\(session.identity)@\(session.name)",
                      [("tag", table.tags[tagIndex].path), ("reason", "role read-only")])
                if let value = Self.writeValue(item.value.value, for: table.tags[tagIndex]),
                   let event = writeEvent(RailgateCore.WriteAuditRecord(
                    timestamp: RailgateClock.now(), origin: "opcua:\(session.identity)@\(session.name)",
                    path: table.tags[tagIndex].path, value: value, outcome: .refused("the session's role is read-only"),
                    tag: tagIndex, old: table.state(tagIndex))) {
                    raise(event)
                }
                results[index] = .badUserAccessDenied
                continue
            }
            if item.value.sourceTimestamp != nil || item.value.serverTimestamp != nil
                || (item.value.status.map { $0 != .good } ?? false) {
                // Part 4 §5.10.4: a server that cannot write status or timestamps says so.
                results[index] = .badWriteNotSupported
                continue
            }
            guard let value = Self.writeValue(item.value.value, for: table.tags[tagIndex]) else {
                results[index] = .badTypeMismatch
                continue
            }
            pending.append((index, tagIndex, value))
        }
        guard let router = writes, !pending.isEmpty else { return done(results) }
        // Outcomes arrive on bus threads and are collected back on the event loop.
        let batch = NIOLoopBound(WriteBatch(results: results, remaining: pending.count, done: done), eventLoop: eventLoop)
        let loop = eventLoop
        for item in pending {
            let index = item.index
            router.write(tag: item.tag, value: item.value, origin: "opcua:\(session.identity)@\(session.name)",
                         reason: reason.map { String($0.prefix(1000)) }) { outcome in
                loop.execute { batch.value.complete(index, Self.status(outcome)) }
            }
        }
    }

    final class WriteBatch {
        var results: [StatusCode]
        var remaining: Int
        let done: ([StatusCode]) -> Void

        init(results: [StatusCode], remaining: Int, done: @escaping ([StatusCode]) -> Void) {
            self.results = results
            self.remaining = remaining
            self.done = done
        }

        func complete(_ index: Int, _ status: StatusCode) {
            results[index] = status
            remaining -= 1
            if remaining == 0 { done(results) }
        }
    }

    /// A written Variant as the gateway's write value, if its type fits the tag.
    static func writeValue(_ variant: Variant?, for tag: Tag) -> RailgateCore.WriteValue? {
        guard case .scalar(let scalar)? = variant else { return nil }
        switch scalar {
        case .boolean(let flag): return tag.kind == .bool ? .bool(flag) : nil
        case .string(let text): return tag.kind == .string ? .text(text ?? "") : nil
        case .sByte(let v): return tag.kind == .string || tag.kind == .bool ? nil : .number(Double(v))
        case .byte(let v): return tag.kind == .string || tag.kind == .bool ? nil : .number(Double(v))
        case .int16(let v): return tag.kind == .string || tag.kind == .bool ? nil : .number(Double(v))
        case .uInt16(let v): return tag.kind == .string || tag.kind == .bool ? nil : .number(Double(v))
        case .int32(let v): return tag.kind == .string || tag.kind == .bool ? nil : .number(Double(v))
        case .uInt32(let v): return tag.kind == .string || tag.kind == .bool ? nil : .number(Double(v))
        case .int64(let v): return tag.kind == .string || tag.kind == .bool ? nil : .number(Double(v))
        case .uInt64(let v): return tag.kind == .string || tag.kind == .bool ? nil : .number(Double(v))
        case .float(let v): return tag.kind == .string || tag.kind == .bool ? nil : .number(Double(v))
        case .double(let v): return tag.kind == .string || tag.kind == .bool ? nil : .number(v)
        default: return nil
        }
    }

    static func status(_ outcome: WriteOutcome) -> StatusCode {
        switch outcome {
        case .done: return .good
        case .refused(let why):
            if why.contains("out of range") || why.contains("exceeds") { return .badOutOfRange }
            if why.contains("does not fit") || why.contains("takes") { return .badTypeMismatch }
            if why.contains("policy") || why.contains("needs a reason") { return .badUserAccessDenied }
            return .badNotWritable
        case .failed(let why):
            return why.contains("timed out") ? .badTimeout : .badCommunicationError
        }
    }
}

extension QualifiedName {
    /// Part 4 §7.29: a null DataEncoding or "Default Binary" selects binary.
    var isDefaultOrBinary: Bool { name == nil || (namespace == 0 && name == "Default Binary") }
}
