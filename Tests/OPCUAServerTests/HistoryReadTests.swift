import Foundation
import Logging
import Testing
@testable import OPCUAServer
import RailgateConfig
import RailgateCore
import RailgateHistory

/// HistoryRead through the service table: paging, continuation points, refusals.
struct HistoryReadTests {
    static let start: Int64 = 1_796_000_000_000_000_000
    let harness: ServerHarness
    let speed = NodeId("acme/l1/m1/speed", namespace: 1)
    let voltage = NodeId("acme/l1/m1/voltage", namespace: 1)

    init() {
        let directory = NSTemporaryDirectory() + "ua-history-\(UUID().uuidString)"
        harness = ServerHarness(history: { table in
            let store = try? HistoryStore(
                config: HistoryConfig(directory: directory, maxBytes: 1 << 30, syncIntervalMs: 1000, maxReadValues: 10, tags: []),
                tags: table.tags, historized: [HistorizedTag(index: 0, maxValues: 100, maxAgeNs: nil)],
                logger: Logger(label: "test"))
            for second in 0..<30 {
                store?.queue.push(Sample(tag: 0, quality: .good, timestamp: Self.start + Int64(second) * 1_000_000_000,
                                         value: SampleValue(uint: UInt64(second))),
                                  text: UnsafeBufferPointer(start: nil, count: 0))
            }
            store?.drain()
            return store
        })
        harness.openSession()
    }

    func time(_ second: Int64) -> UADateTime { UADateTime(unixNanoseconds: Self.start + second * 1_000_000_000) }

    func read(_ nodes: [HistoryReadValueId], start: Int64 = 0, end: Int64 = 100, count: UInt32 = 0,
              release: Bool = false, timestamps: TimestampsToReturn = .both) -> Result<HistoryReadResponse, ServiceError> {
        let details = ReadRawModifiedDetails(startTime: time(start), endTime: time(end), numValuesPerNode: count)
        return harness.call(HistoryReadRequest(requestHeader: harness.header,
                                               historyReadDetails: ExtensionObject(details, encodingId: UAIds.Encoding.readRawModifiedDetails),
                                               timestampsToReturn: timestamps, releaseContinuationPoints: release, nodesToRead: nodes),
                            UAIds.Encoding.historyReadRequest, as: HistoryReadResponse.self)
    }

    func values(_ result: HistoryReadResult) throws -> [UInt16] {
        let data = try #require(try result.historyData.decode(HistoryData.self, encodingId: UAIds.Encoding.historyData))
        return data.dataValues.compactMap { if case .scalar(.uInt16(let v))? = $0.value { v } else { nil } }
    }

    @Test func pagesFollowContinuationPointsUntilTheEnd() throws {
        var seen: [UInt16] = []
        var point: [UInt8]?
        for _ in 0..<5 {
            let result = try read([HistoryReadValueId(nodeId: speed, continuationPoint: point)]).get().results[0]
            #expect(result.statusCode == .good)
            seen += try values(result)
            point = result.continuationPoint
            if point == nil { break }
        }
        #expect(seen == (0..<30).map(UInt16.init))
        // Released, a continuation point is gone.
        let first = try read([HistoryReadValueId(nodeId: speed)]).get().results[0]
        let kept = try #require(first.continuationPoint)
        #expect(try read([HistoryReadValueId(nodeId: speed, continuationPoint: kept)], release: true).get().results[0].statusCode == .good)
        #expect(try read([HistoryReadValueId(nodeId: speed, continuationPoint: kept)]).get().results[0].statusCode
                == .badContinuationPointInvalid)
    }

    @Test func aSessionHoldsSixteenContinuationPoints() throws {
        let answers = try (0..<17).map { _ in try read([HistoryReadValueId(nodeId: speed)]).get().results[0].statusCode }
        #expect(answers.prefix(16).allSatisfy { $0 == .good } && answers.last == .badNoContinuationPoints)
    }

    @Test func refusalsPerNodeAndPerRequest() throws {
        let results = try read([HistoryReadValueId(nodeId: voltage), HistoryReadValueId(nodeId: NodeId("nope", namespace: 1)),
                                HistoryReadValueId(nodeId: speed, indexRange: "1:2")]).get().results
        #expect(results.map(\.statusCode) == [.badHistoryOperationUnsupported, .badNodeIdUnknown, .badIndexRangeInvalid])
        #expect(throws: ServiceError(.badTimestampsToReturnInvalid)) {
            try read([HistoryReadValueId(nodeId: speed)], timestamps: .neither).get()
        }
        let unknownDetails = HistoryReadRequest(requestHeader: harness.header,
                                                historyReadDetails: ExtensionObject(typeId: NodeId(12345), body: .binary([])),
                                                timestampsToReturn: .both, nodesToRead: [HistoryReadValueId(nodeId: speed)])
        #expect(throws: ServiceError(.badHistoryOperationInvalid)) {
            try harness.call(unknownDetails, UAIds.Encoding.historyReadRequest, as: HistoryReadResponse.self).get()
        }
        // No time given at all.
        let none = ReadRawModifiedDetails(numValuesPerNode: 5)
        let request = HistoryReadRequest(requestHeader: harness.header,
                                         historyReadDetails: ExtensionObject(none, encodingId: UAIds.Encoding.readRawModifiedDetails),
                                         timestampsToReturn: .both, nodesToRead: [HistoryReadValueId(nodeId: speed)])
        #expect(try harness.call(request, UAIds.Encoding.historyReadRequest, as: HistoryReadResponse.self).get()
                .results[0].statusCode == .badInvalidTimestampArgument)
        // More times than an answer may carry.
        let times = ReadAtTimeDetails(reqTimes: (0..<11).map { time($0) }, useSimpleBounds: true)
        let atTime = HistoryReadRequest(requestHeader: harness.header,
                                        historyReadDetails: ExtensionObject(times, encodingId: UAIds.Encoding.readAtTimeDetails),
                                        timestampsToReturn: .both, nodesToRead: [HistoryReadValueId(nodeId: speed)])
        #expect(try harness.call(atTime, UAIds.Encoding.historyReadRequest, as: HistoryReadResponse.self).get()
                .results[0].statusCode == .badTooManyOperations)
    }

    @Test func historizedTagsSayHowTheyCanBeRead() throws {
        #expect(harness.core.attribute(AttributeId.historizing, of: try #require(harness.core.addressSpace[speed]))
                == .scalar(.boolean(true)))
        #expect(harness.core.attribute(AttributeId.historizing, of: try #require(harness.core.addressSpace[voltage]))
                == .scalar(.boolean(false)))
        guard case .scalar(.byte(let access))? = harness.core.attribute(AttributeId.accessLevel,
                                                                         of: try #require(harness.core.addressSpace[speed])) else {
            Issue.record("no access level")
            return
        }
        #expect(access & UANode.historyRead != 0)
    }
}
