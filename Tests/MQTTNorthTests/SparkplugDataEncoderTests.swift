import Testing
@testable import MQTTNorth
import RailgateCore

/// DDATA written by hand must be the bytes SwiftProtobuf makes of the same metrics
/// (`SparkplugMetrics.metric(…, birth: false)`), so every Sparkplug host decodes it alike.
struct SparkplugDataEncoderTests {
    func tag(_ type: DataType, scaling: Scaling = .identity, codes: CodeMap? = nil) -> Tag {
        Tag(name: "t", device: "d", path: "e/d/t", dataType: type, scaling: scaling, stringLength: 40, codes: codes)
    }

    func generated(_ entries: [(Tag, Int, Sample, String?)], historical: Bool, seq: UInt64) throws -> [UInt8] {
        var payload = SparkplugPayload()
        payload.timestamp = 1_732_540_000_999
        payload.seq = seq
        payload.metrics = entries.map { tag, index, sample, text in
            SparkplugMetrics.metric(tag, index: index, sample: sample, text: text, birth: false, historical: historical)
        }
        return try payload.serializedBytes()
    }

    func encoded(_ entries: [(Tag, Int, Sample, String?)], historical: Bool, seq: UInt64,
                 into encoder: inout SparkplugDataEncoder) -> [UInt8] {
        encoder.begin(timestamp: 1_732_540_000_999, seq: seq)
        for (tag, index, sample, text) in entries {
            encoder.metric(tag, index: index, sample: sample, text: text, historical: historical)
        }
        encoder.end()
        return encoder.bytes
    }

    @Test func dataMetricsAreTheGeneratedBytes() throws {
        let map = CodeMap(name: "material", entries: [(1001, "MAT-4711-A")])
        let at: Int64 = 1_732_540_000_123_456_789
        func good(_ value: SampleValue) -> Sample { Sample(tag: 0, quality: .good, timestamp: at, value: value) }
        let cases: [(Tag, Int, Sample, String?)] = [
            (tag(.bool), 0, good(SampleValue(bool: true)), nil),
            (tag(.int8), 1, good(SampleValue(int: -5)), nil),
            (tag(.int16), 2, good(SampleValue(int: -30_000)), nil),
            (tag(.int32), 127, good(SampleValue(int: .min + 1)), nil),
            (tag(.uint8), 128, good(SampleValue(uint: 255)), nil),
            (tag(.uint16), 16_383, good(SampleValue(uint: 65_535)), nil),
            (tag(.uint32), 16_384, good(SampleValue(uint: 4_000_000_000)), nil),
            (tag(.int64), 3, good(SampleValue(int: -9_876_543_210)), nil),
            (tag(.uint64), 4, good(SampleValue(uint: .max)), nil),
            (tag(.float32), 5, good(SampleValue(double: 229.5)), nil),
            (tag(.float64), 6, good(SampleValue(double: -0.001)), nil),
            (tag(.uint16, scaling: Scaling(scale: 0.1)), 7, good(SampleValue(double: 12.5)), nil),
            (tag(.string), 8, good(.zero), "päck\n\"7\""),
            (tag(.string), 9, good(.zero), String(repeating: "x", count: 200)),  // a metric past 127 bytes
            (tag(.uint16, codes: map), 10, good(SampleValue(uint: 1001)), nil),
            (tag(.uint16, codes: map), 11, Sample(tag: 0, quality: Quality(reason: .unmappedCode), timestamp: at,
                                                  value: SampleValue(uint: 1099)), nil),
            (tag(.float32), 12, Sample(tag: 0, quality: Quality(reason: .timeout), timestamp: at, value: .zero), nil),
            (tag(.uint16, codes: map), 13, Sample(tag: 0, quality: Quality(reason: .exception, detail: 2), timestamp: at,
                                                  value: .zero), nil),
            (tag(.uint16), 14, Sample(tag: 0, quality: .good, timestamp: 0, value: SampleValue(uint: 1)), nil),  // no time
        ]
        var encoder = SparkplugDataEncoder()
        for historical in [false, true] {
            for entry in cases {
                #expect(encoded([entry], historical: historical, seq: 7, into: &encoder)
                        == (try generated([entry], historical: historical, seq: 7)), "alias \(entry.1 + 1)")
            }
            // All in one payload: its metrics field runs past 2 KB; seq 0 and the largest.
            for seq: UInt64 in [0, 255] {
                #expect(encoded(cases, historical: historical, seq: seq, into: &encoder)
                        == (try generated(cases, historical: historical, seq: seq)))
            }
        }
        // And SwiftProtobuf reads it back.
        let decoded = try SparkplugPayload(serializedBytes: encoded(cases, historical: false, seq: 3, into: &encoder))
        #expect(decoded.metrics.count == cases.count && decoded.seq == 3)
        #expect(decoded.metrics[13].stringValue.count == 200)
    }

    @Test func changesAreGroupedByDeviceInOrder() {
        var grouping = DeviceGrouping()
        func change(_ tag: UInt32) -> Change {
            Change(Sample(tag: tag, quality: .good, timestamp: 1, value: .zero))
        }
        // Tags 0–1 on device 0, 2 on device 1 (no changes for device 2), 3 on device 3; tag 9 is unknown.
        let deviceOfTag = [0, 0, 1, 3]
        let changes = [change(2), change(0), change(9), change(3), change(1), change(0)]
        grouping.group(changes, deviceOfTag: deviceOfTag, deviceCount: 4)
        #expect(Array(grouping.changes(of: 0)) == [1, 4, 5])
        #expect(Array(grouping.changes(of: 1)) == [0])
        #expect(!grouping.has(2) && grouping.count(2) == 0)
        #expect(Array(grouping.changes(of: 3)) == [3])
        grouping.group([], deviceOfTag: deviceOfTag, deviceCount: 4)
        #expect((0..<4).allSatisfy { !grouping.has($0) })
    }
}
