import Testing
@testable import RailgateCore

struct CodeMapTests {
    let material = CodeMap(name: "material", entries: [(1002, "MAT-4711-B"), (1001, "MAT-4711-A"), (-5, "NEG"),
                                                       (1001, "second, ignored")])

    @Test func looksUpRawValuesInOrderAndBack() {
        #expect(material.values == [-5, 1001, 1002])
        #expect(material.code(for: 1001) == "MAT-4711-A")
        #expect(material.code(for: 1002) == "MAT-4711-B")
        #expect(material.code(for: -5) == "NEG")
        for missing: Int64 in [1000, 1003, 0, .min, .max] { #expect(material.code(for: missing) == nil, "\(missing)") }
        #expect(material.value(of: "MAT-4711-B") == 1002)
        #expect(material.value(of: "mat-4711-b") == nil)
    }

    @Test func rawValuesOfEveryKind() {
        #expect(CodeMap.raw(SampleValue(int: -5), kind: .int) == -5)
        #expect(CodeMap.raw(SampleValue(uint: 1001), kind: .uint) == 1001)
        #expect(CodeMap.raw(SampleValue(uint: .max), kind: .uint) == nil)
        #expect(CodeMap.raw(SampleValue(bool: true), kind: .bool) == 1)
        #expect(CodeMap.raw(SampleValue(double: 1001), kind: .double) == nil)
        #expect(material.code(of: SampleValue(uint: 1001), kind: .uint) == "MAT-4711-A")
    }

    @Test func anEmptyMapFindsNothing() {
        let empty = CodeMap(name: "none", entries: [])
        #expect(empty.code(for: 0) == nil && empty.count == 0)
    }
}

struct MappedTagEngineTests {
    let tags = [
        Tag(name: "material", device: "d", path: "a/d/material", dataType: .uint16,
            codes: CodeMap(name: "material", entries: [(1001, "MAT-4711-A"), (1002, "MAT-4711-B")])),
    ]

    @Test func anUnmappedValueIsUncertainWithItsRawValueKept() {
        let ring = SampleRing(minimumCapacity: 16, slotBytes: 0)
        let sink = ChangeQueue(name: "test", tags: tags, capacity: 16)
        let engine = TagEngine(table: TagTable(tags: tags), rings: [ring], sinks: [sink])
        for (time, raw) in [(1, 1001), (2, 1001), (3, 1099), (4, 1098), (5, 1098), (6, 1002)] {
            ring.push(Sample(tag: 0, quality: .good, timestamp: Int64(time), value: SampleValue(uint: UInt64(raw))))
        }
        engine.drainOnce()
        var seen: [(Int64, UInt64, String)] = []
        sink.drain { seen.append(($0.sample.timestamp, $0.sample.value.uint, $0.sample.quality.level)) }
        // 1001 good; 1099 uncertain (a change of quality); 1098 uncertain (a change of value); 1002 good.
        #expect(seen.map(\.0) == [1, 3, 4, 6])
        #expect(seen.map(\.1) == [1001, 1099, 1098, 1002])
        #expect(seen.map(\.2) == ["good", "uncertain", "uncertain", "good"])

        ring.push(Sample(tag: 0, quality: .good, timestamp: 7, value: SampleValue(uint: 4242)))
        engine.drainOnce()
        let state = engine.table.state(0)
        #expect(state.sample.value.uint == 4242, "the table keeps an uncertain sample's value")
        #expect(state.sample.quality == Quality(reason: .unmappedCode))
        #expect(state.sample.quality.description == "uncertain: unmapped code")
        // A bad sample after it still keeps the last value read.
        ring.push(Sample(tag: 0, quality: Quality(reason: .timeout), timestamp: 8, value: .zero))
        engine.drainOnce()
        #expect(engine.table.state(0).sample.value.uint == 4242)
    }

    @Test func writesNameACodeOrARawValue() {
        let target = RecordingTarget()
        let audit = AuditLog()
        var writable = tags[0]
        writable.writable = true
        let router = WriteRouter(table: TagTable(tags: [writable]), writesEnabled: true, targets: [target]) { record in
            audit.records.withLock { $0.append(record) }
        }
        #expect(router.writeAndWait(path: "a/d/material", value: .text("MAT-4711-B"), origin: "t") == .done)
        #expect(router.writeAndWait(path: "a/d/material", value: .text("MAT-9"), origin: "t")
                == .refused("\"MAT-9\" is not a code of map material"))
        #expect(router.writeAndWait(path: "a/d/material", value: .number(1001), origin: "t") == .done)
        #expect(target.requests.withLock { $0.map(\.1) } == [.number(1002), .number(1001)])
        #expect(audit.records.withLock { $0.map(\.value) } == [.text("MAT-4711-B"), .text("MAT-9"), .number(1001)])
    }
}
