import Foundation
@testable import RailgateCore

/// The KPI engine after a restart: the input is a persisted state file (decoded as the gateway
/// decodes `kpi.state_file`; an undecodable one starts from zero) followed by a script of samples
/// of the machine's state, reason and counter tags at increasing times. The engine must never
/// trap, and every figure it publishes must be a finite number.
final class KPIHarness: Harness {
    static let name = "kpi"
    static let reasons = CodeMap(name: "reasons", entries: [(0, "NONE"), (7, "JAM \"quoted\"\n")])
    static let tags: [Tag] = [
        Tag(name: "state", device: "filler", path: "a/filler/state", dataType: .int16),
        Tag(name: "reason", device: "filler", path: "a/filler/reason", dataType: .uint16, codes: reasons),
        Tag(name: "total", device: "filler", path: "a/filler/total", dataType: .uint16),
        Tag(name: "scrap", device: "filler", path: "a/filler/scrap", dataType: .uint32),
    ] + KPIOutput.tags(device: "line") { "a/line/\($0)" }
    static let machine = KPIMachine(name: "line", stateTag: 0, stateValues: [(1, .running), (2, .idle), (3, .down), (4, .stopped)],
                                    reasonTag: 1, totalTag: 2, qualityTag: 3, countsScrap: true,
                                    idealCycleNs: 250_000_000, counterModulus: 65536, firstOutput: 4)
    static let calendar = ShiftCalendar(shifts: [Shift(name: "a", startSecond: 0, endSecond: 43_200),
                                                 Shift(name: "b", startSecond: 43_200, endSecond: 0)])
    required init() {}

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        var reader = InputReader(input)
        let stateLength = Int(reader.uint16())
        let state = Array(reader.take(stateLength))
        let restored = try? JSONDecoder().decode(KPISnapshot.self, from: Data(state))
        let engine = KPIEngine(machines: [Self.machine], calendar: Self.calendar, tags: Self.tags,
                               rollingMinutes: 1 + Int(reader.byte() % 8), publishIntervalNs: 100_000_000, restored: restored)
        var now: Int64 = 1_796_000_000_000_000_000 + Int64(reader.uint16()) * 1_000_000_000
        func check(_ sample: Sample, _ text: UnsafeBufferPointer<UInt8>) {
            let index = Int(sample.tag)
            expect(index >= 4 && index < Self.tags.count, "output tag \(index)")
            let tag = Self.tags[index]
            if tag.kind == .double { expect(sample.value.double.isFinite, "\(tag.name) = \(sample.value.double)") }
            if tag.kind == .string { expect(Int(sample.value.uint) == text.count, "\(tag.name): length \(sample.value.uint), text \(text.count)") }
        }
        while reader.remaining >= 4 {
            let op = reader.byte()
            now &+= Int64(reader.uint16()) * 10_000_000 * Int64(1 + op >> 6)
            let value = Int64(Int16(bitPattern: reader.uint16()))
            let tag = Int(op & 3)
            let quality = op & 0x20 != 0 ? Quality(reason: .timeout) : .good
            let sample = Sample(tag: UInt32(tag), quality: quality, timestamp: now,
                                value: Self.tags[tag].kind == .int ? SampleValue(int: value) : SampleValue(uint: UInt64(UInt16(bitPattern: Int16(value)))))
            engine.observe(tag, sample, now: now, emit: check)
            if op & 0x10 != 0 { engine.tick(now: now, emit: check) }
        }
        engine.tick(now: now &+ 1_000_000_000, emit: check)
        // What it saves reads back.
        let saved = engine.snapshot(now: now)
        if let data = try? JSONEncoder().encode(saved) {
            expect((try? JSONDecoder().decode(KPISnapshot.self, from: data)) == saved, "a saved KPI state does not read back")
        }
    }

    static func seeds() -> [[UInt8]] {
        let engine = KPIEngine(machines: [machine], calendar: calendar, tags: tags, publishIntervalNs: 100_000_000)
        let start: Int64 = 1_796_000_000_000_000_000
        let script: [(UInt32, UInt64)] = [(0, 1), (2, 100), (3, 1), (1, 7), (0, 3), (0, 1), (2, 65_530), (2, 4), (0, 4), (0, 2)]
        var bytes: [UInt8] = []
        for (step, (tag, value)) in script.enumerated() {
            let now = start + Int64(step) * 2_000_000_000
            engine.observe(Int(tag), Sample(tag: tag, quality: .good, timestamp: now, value: SampleValue(uint: value)), now: now) { _, _ in }
            bytes += [UInt8(tag) | 0x10, 0, 200, UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        }
        engine.tick(now: start + 30_000_000_000) { _, _ in }
        let state = (try? JSONEncoder().encode(engine.snapshot(now: start + 30_000_000_000))).map { Array($0) } ?? []
        let length = [UInt8(state.count >> 8 & 0xFF), UInt8(state.count & 0xFF)]
        return [length + state + [3, 0, 0] + bytes, [0, 0, 3, 0, 0] + bytes, length + state]
    }
}
