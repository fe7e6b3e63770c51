// HistoryRead (Part 4 §5.10.3, Part 11 §6.5): raw values (ReadRawModifiedDetails) and values at
// given times (ReadAtTimeDetails) of historized tags, from the `HistoryStore`.
// Not implemented: read modified, processed (aggregates), events from history, HistoryUpdate.

import RailgateCore
import RailgateHistory

extension StatusCode {
    /// Info bits of a value the historian did not store but derived (Part 4 §7.39: InfoType
    /// DataValue, HistorianBits Interpolated).
    static let historianInterpolated: UInt32 = 0x0000_0400 | 0x0000_0002

    func interpolated() -> StatusCode { StatusCode(rawValue: rawValue & 0xFFFF_0000 | Self.historianInterpolated) }
}

extension UAServerCore {
    func registerHistory() {
        register(UAIds.Encoding.historyReadRequest, UAIds.Encoding.historyReadResponse) {
            (request: HistoryReadRequest, context) throws(ServiceError) in
            let session = try context.requireSession()
            try self.checkOperationCount(request.nodesToRead.count)
            // Part 4 §5.10.3: a history value always has a timestamp.
            guard (0...2).contains(request.timestampsToReturn.rawValue) else {
                throw ServiceError(.badTimestampsToReturnInvalid)
            }
            let results: [HistoryReadResult]
            let details = request.historyReadDetails
            // What one answer may carry over all its nodes: max_read_values (a request for 10 000
            // nodes must not build 10 000 pages); the rest comes behind continuation points.
            var budget = self.addressSpace.history?.config.maxReadValues ?? 0
            if request.releaseContinuationPoints {
                results = request.nodesToRead.map { item in
                    guard let point = item.continuationPoint else { return HistoryReadResult(statusCode: .good) }
                    let known = session.historyContinuations.removeValue(forKey: point) != nil
                    return HistoryReadResult(statusCode: known ? .good : .badContinuationPointInvalid)
                }
            } else if let raw = try Self.decodeDetails(details, ReadRawModifiedDetails.self, UAIds.Encoding.readRawModifiedDetails) {
                results = request.nodesToRead.map {
                    self.readRaw($0, raw, timestamps: request.timestampsToReturn, session: session, budget: &budget)
                }
            } else if let atTime = try Self.decodeDetails(details, ReadAtTimeDetails.self, UAIds.Encoding.readAtTimeDetails) {
                results = request.nodesToRead.map {
                    self.readAtTime($0, atTime, timestamps: request.timestampsToReturn, budget: &budget)
                }
            } else if details.typeId == UAIds.Encoding.readProcessedDetails || details.typeId == UAIds.Encoding.readEventDetails {
                results = request.nodesToRead.map { _ in HistoryReadResult(statusCode: .badHistoryOperationUnsupported) }
            } else {
                throw ServiceError(.badHistoryOperationInvalid)
            }
            return HistoryReadResponse(responseHeader: context.responseHeader(), results: results)
        }
    }

    private static func decodeDetails<T: UACodable>(_ details: ExtensionObject, _ type: T.Type,
                                                    _ encodingId: NodeId) throws(ServiceError) -> T? {
        do {
            return try details.decode(type, encodingId: encodingId)
        } catch {
            throw ServiceError(.badHistoryOperationInvalid)
        }
    }

    /// The historized tag a node is, or the status that refuses it.
    private func historized(_ item: HistoryReadValueId) -> Result<(Int, Tag, HistoryStore), StatusCodeError> {
        guard let node = addressSpace[item.nodeId] else { return .failure(StatusCodeError(.badNodeIdUnknown)) }
        guard case .tag(let index)? = node.value, node.historizing, let store = addressSpace.history,
              let table = addressSpace.table, table.tags.indices.contains(index) else {
            return .failure(StatusCodeError(.badHistoryOperationUnsupported))
        }
        if let range = item.indexRange, !range.isEmpty { return .failure(StatusCodeError(.badIndexRangeInvalid)) }
        if !item.dataEncoding.isDefaultOrBinary { return .failure(StatusCodeError(.badDataEncodingInvalid)) }
        return .success((index, table.tags[index], store))
    }

    func readRaw(_ item: HistoryReadValueId, _ details: ReadRawModifiedDetails, timestamps: TimestampsToReturn,
                 session: UASession, budget: inout Int) -> HistoryReadResult {
        guard !details.isReadModified else { return HistoryReadResult(statusCode: .badHistoryOperationUnsupported) }
        let found: (Int, Tag, HistoryStore)
        switch historized(item) {
        case .failure(let error): return HistoryReadResult(statusCode: error.status)
        case .success(let value): found = value
        }
        let (index, tag, store) = found
        let start = details.startTime.ticks == 0 ? nil : details.startTime.unixNanoseconds
        let end = details.endTime.ticks == 0 ? nil : details.endTime.unixNanoseconds
        let plan: RawReadPlan
        if let point = item.continuationPoint {
            guard let kept = session.historyContinuations.removeValue(forKey: point), kept.tag == index else {
                return HistoryReadResult(statusCode: .badContinuationPointInvalid)
            }
            plan = kept
        } else {
            // Part 11 asks for two of start, end and count; a start (or end) alone is read to the
            // newest (or oldest) value, in pages of at most max_read_values.
            guard let planned = store.planRaw(tag: index, startNs: start, endNs: end, bounds: details.returnBounds) else {
                return HistoryReadResult(statusCode: .badInvalidTimestampArgument)
            }
            plan = planned
        }
        let asked = Int(details.numValuesPerNode)
        let limit = asked == 0 ? budget : min(asked, budget)
        let (items, rest) = store.readRaw(plan, limit: limit)
        budget -= items.count
        // One time and a count: that many values, no more to come (Part 11 §6.5.3.2).
        let countOnly = asked > 0 && (start == nil || end == nil) && items.count >= asked
        var point: [UInt8]?
        if let rest, !countOnly {
            guard session.historyContinuations.count < Self.maxContinuationPoints else {
                return HistoryReadResult(statusCode: .badNoContinuationPoints)
            }
            session.nextContinuation &+= 1
            var bytes: [UInt8] = [0x48]  // 'H': not a Browse continuation point
            withUnsafeBytes(of: session.nextContinuation.littleEndian) { bytes.append(contentsOf: $0) }
            session.historyContinuations[bytes] = rest
            point = bytes
        }
        let values = items.map { item -> DataValue in
            switch item {
            case .value(let record): return Self.filterHistory(Self.dataValue(tag, record), timestamps)
            case .noBound(let at):
                let time = UADateTime(unixNanoseconds: at)
                return DataValue(status: .badBoundNotFound, sourceTimestamp: timestamps == .server ? nil : time,
                                 serverTimestamp: timestamps == .source ? nil : time)
            }
        }
        return HistoryReadResult(statusCode: values.isEmpty && point == nil ? .goodNoData : .good,
                                 continuationPoint: point,
                                 historyData: ExtensionObject(HistoryData(dataValues: values), encodingId: UAIds.Encoding.historyData))
    }

    func readAtTime(_ item: HistoryReadValueId, _ details: ReadAtTimeDetails, timestamps: TimestampsToReturn,
                    budget: inout Int) -> HistoryReadResult {
        let found: (Int, Tag, HistoryStore)
        switch historized(item) {
        case .failure(let error): return HistoryReadResult(statusCode: error.status)
        case .success(let value): found = value
        }
        let (index, tag, store) = found
        guard details.reqTimes.count <= budget else {
            return HistoryReadResult(statusCode: .badTooManyOperations)
        }
        budget -= details.reqTimes.count
        let times = details.reqTimes.map(\.unixNanoseconds)
        guard let answers = store.readAtTime(tag: index, times: times, simpleBounds: details.useSimpleBounds,
                                             resolutionNs: 100) else {
            return HistoryReadResult(statusCode: .badHistoryOperationUnsupported)
        }
        let values = zip(details.reqTimes, answers).map { time, answer -> DataValue in
            var value: DataValue
            switch answer {
            case .stored(let record):
                return Self.filterHistory(Self.dataValue(tag, record), timestamps)
            case .noData:
                value = DataValue(status: .badNoData)
            case .between(let before, let after):
                value = Self.dataValue(tag, before)
                if let after, Self.interpolates(tag), before.quality.isGood, after.quality.isGood,
                   after.sourceNs > before.sourceNs {
                    // In Double: times from the client and from the file may be far apart (no Int64 overflow).
                    let fraction = (Double(time.unixNanoseconds) - Double(before.sourceNs))
                        / (Double(after.sourceNs) - Double(before.sourceNs))
                    let low = before.value.numeric(before.kind), high = after.value.numeric(after.kind)
                    value.value = TagValue.variant(tag, Self.sampleValue(low + (high - low) * fraction, as: tag))
                }
                value.status = (value.status ?? .good).interpolated()
            }
            value.sourceTimestamp = timestamps == .server ? nil : time
            value.serverTimestamp = timestamps == .source ? nil : time
            return value
        }
        return HistoryReadResult(statusCode: .good,
                                 historyData: ExtensionObject(HistoryData(dataValues: values), encodingId: UAIds.Encoding.historyData))
    }

    /// Analog values (floating point or scaled) are interpolated between the values around an
    /// instant; the others (integers, codes, booleans) hold their value until the next (stepped).
    static func interpolates(_ tag: Tag) -> Bool {
        tag.codes == nil && (tag.kind == .double || !tag.scaling.isIdentity)
    }

    /// A stored value in the tag's type now (its kind may have changed with the configuration).
    static func dataValue(_ tag: Tag, _ record: HistoryRecord) -> DataValue {
        let value = record.kind == tag.kind ? record.value : sampleValue(record.value.numeric(record.kind), as: tag)
        return DataValue(value: record.quality.hasValue ? TagValue.variant(tag, value) : nil,
                         status: TagValue.status(record.quality),
                         sourceTimestamp: UADateTime(unixNanoseconds: record.sourceNs),
                         serverTimestamp: UADateTime(unixNanoseconds: record.serverNs))
    }

    /// A number as a value of the tag's kind (saturating: a stored value never traps).
    static func sampleValue(_ number: Double, as tag: Tag) -> SampleValue {
        switch tag.kind {
        case .bool: return SampleValue(bool: number != 0)
        case .int: return SampleValue(int: number.isNaN ? 0 : Int64(exactly: number.rounded()) ?? (number < 0 ? .min : .max))
        case .uint: return SampleValue(uint: number.isNaN || number < 0 ? 0 : UInt64(exactly: number.rounded()) ?? .max)
        case .double, .string: return SampleValue(double: number)
        }
    }

    static func filterHistory(_ value: DataValue, _ which: TimestampsToReturn) -> DataValue {
        var result = value
        if which == .source { result.serverTimestamp = nil }
        if which == .server { result.sourceTimestamp = nil }
        return result
    }
}

/// A status carried as an error by helpers that refuse one operation of a request.
struct StatusCodeError: Error {
    var status: StatusCode
    init(_ status: StatusCode) { self.status = status }
}
