import Glibc
import Testing
@testable import RailgateCore

/// A scripted shift through the KPI engine, its figures against a computation by hand.
struct KPIEngineTests {
    static let reasons = CodeMap(name: "reasons", entries: [(0, "NONE"), (7, "JAM"), (9, "NO-BOTTLES")])
    let tags: [Tag] = [
        Tag(name: "state", device: "filler", path: "a/filler/state", dataType: .uint16),
        Tag(name: "reason", device: "filler", path: "a/filler/reason", dataType: .uint16, codes: Self.reasons),
        Tag(name: "total", device: "filler", path: "a/filler/total", dataType: .uint16),
        Tag(name: "good", device: "filler", path: "a/filler/good", dataType: .uint16),
    ] + KPIOutput.tags(device: "line") { "a/line/\($0)" }

    /// Local seconds after midnight at `ns`, for a calendar around the script's times.
    static func secondOfDay(_ ns: Int64) -> Int {
        var seconds = time_t(ns / 1_000_000_000)
        var local = tm()
        _ = localtime_r(&seconds, &local)
        return Int(local.tm_hour) * 3600 + Int(local.tm_min) * 60 + Int(local.tm_sec)
    }

    final class Outputs {
        var values: [Int: Sample] = [:]
        var texts: [Int: String] = [:]
        func take(_ sample: Sample, _ text: UnsafeBufferPointer<UInt8>) {
            values[Int(sample.tag)] = sample
            if text.count > 0 || sample.value.uint == 0 { texts[Int(sample.tag)] = String(decoding: text, as: UTF8.self) }
        }
        func number(_ output: KPIOutput) -> Double { values[4 + output.rawValue]!.value.double }
        func count(_ output: KPIOutput) -> Int64 { values[4 + output.rawValue]!.value.int }
        func text(_ output: KPIOutput) -> String { texts[4 + output.rawValue] ?? "" }
    }

    func engine(start: Int64, restored: KPISnapshot? = nil, shiftSeconds: Int = 3600) -> KPIEngine {
        let second = Self.secondOfDay(start)
        // The shift began 0 s before the script (no second shift the script could run into).
        let shift = Shift(name: "early", startSecond: second, endSecond: (second + shiftSeconds) % 86_400)
        let machine = KPIMachine(name: "line", stateTag: 0, stateValues: [(1, .running), (2, .idle), (3, .down), (4, .stopped)],
                                 reasonTag: 1, totalTag: 2, qualityTag: 3, countsScrap: false,
                                 idealCycleNs: 500_000_000, counterModulus: 65536, firstOutput: 4)
        return KPIEngine(machines: [machine], calendar: ShiftCalendar(shifts: [shift]), tags: tags,
                         publishIntervalNs: 1_000_000_000, restored: restored)
    }

    func sample(_ tag: UInt32, _ value: UInt64, _ quality: Quality = .good) -> Sample {
        Sample(tag: tag, quality: quality, timestamp: 0, value: SampleValue(uint: value))
    }

    @Test func aScriptedShiftGivesTheFiguresComputedByHand() {
        // A whole second, so the shift starts exactly at the script's start.
        let t0: Int64 = 1_796_000_000 * 1_000_000_000
        let kpi = engine(start: t0)
        let out = Outputs()
        let s: Int64 = 1_000_000_000
        kpi.observe(0, sample(0, 1), now: t0, emit: out.take)          // running from 0 s
        kpi.observe(2, sample(2, 65500), now: t0, emit: out.take)      // counters start near the top
        kpi.observe(3, sample(3, 65500), now: t0, emit: out.take)
        kpi.observe(2, sample(2, 65530), now: t0 + 15 * s, emit: out.take)   // +30
        kpi.observe(3, sample(3, 65528), now: t0 + 15 * s, emit: out.take)   // +28
        kpi.observe(1, sample(1, 7), now: t0 + 19 * s, emit: out.take)       // reason JAM
        kpi.observe(0, sample(0, 3), now: t0 + 20 * s, emit: out.take)       // down 20 … 32 s
        #expect(out.text(.state) == "down" && out.text(.machineryState) == "OutOfService" && out.text(.reason) == "JAM")
        kpi.observe(0, sample(0, 1), now: t0 + 32 * s, emit: out.take)       // running again
        #expect(out.text(.downtime) == #"{"start_ms":1796000020000,"end_ms":1796000032000,"duration_ms":12000,"reason":"JAM","shift":"early"}"#)
        kpi.observe(2, sample(2, 14), now: t0 + 40 * s, emit: out.take)      // wrapped: +20
        kpi.observe(3, sample(3, 10), now: t0 + 40 * s, emit: out.take)      // wrapped: +18
        kpi.observe(0, sample(0, 4), now: t0 + 45 * s, emit: out.take)       // planned stop 45 … 50 s
        kpi.observe(0, sample(0, 2), now: t0 + 50 * s, emit: out.take)       // idle 50 … 54 s
        kpi.observe(0, sample(0, 1, Quality(reason: .timeout)), now: t0 + 54 * s, emit: out.take)  // unknown 54 … 56 s
        kpi.observe(0, sample(0, 1), now: t0 + 56 * s, emit: out.take)       // running 56 … 60 s
        kpi.tick(now: t0 + 60 * s, emit: out.take)

        // By hand: run 20 + 13 + 4 = 37 s; down 12, idle 4, unknown 2 → planned 55 s; stopped 5 s.
        let run = 37.0, planned = 55.0, total = 50.0, good = 46.0
        #expect(out.number(.runSeconds) == run && out.number(.plannedSeconds) == planned)
        #expect(out.number(.downSeconds) == 18 && out.number(.stoppedSeconds) == 5)
        #expect(out.count(.totalCount) == 50 && out.count(.goodCount) == 46 && out.count(.downtimeCount) == 1)
        let availability = run / planned, performance = 0.5 * total / run, quality = good / total
        #expect(abs(out.number(.availability) - availability * 100) < 1e-9)
        #expect(abs(out.number(.performance) - performance * 100) < 1e-9)
        #expect(abs(out.number(.quality) - quality * 100) < 1e-9)
        #expect(abs(out.number(.oee) - availability * performance * quality * 100) < 1e-9)
        #expect(abs(out.number(.oee) - 0.5 * good / planned * 100) < 1e-9)
        #expect(out.text(.shift) == "early" && out.text(.state) == "running" && out.text(.reason) == "")
        // The whole script is inside the rolling hour: the same figures.
        #expect(abs(out.number(.rollingOEE) - out.number(.oee)) < 1e-9)

        // A restart: the saved state goes on; the 10 s away count as unknown, the parts made
        // meanwhile are counted from the counters.
        let saved = kpi.snapshot(now: t0 + 60 * s)
        let again = engine(start: t0, restored: saved)
        let after = Outputs()
        again.observe(2, sample(2, 14), now: t0 + 70 * s, emit: after.take)
        again.observe(3, sample(3, 10), now: t0 + 70 * s, emit: after.take)
        again.observe(0, sample(0, 1), now: t0 + 70 * s, emit: after.take)
        again.observe(2, sample(2, 24), now: t0 + 80 * s, emit: after.take)
        again.observe(3, sample(3, 20), now: t0 + 80 * s, emit: after.take)
        again.tick(now: t0 + 80 * s, emit: after.take)
        #expect(after.number(.runSeconds) == run + 10 && after.number(.plannedSeconds) == planned + 20)
        #expect(after.count(.totalCount) == 60 && after.count(.goodCount) == 56)
        #expect(after.count(.downtimeCount) == 1)
    }

    @Test func aNewShiftStartsFromZeroAndTimeIsSplitAtItsStart() {
        let t0: Int64 = 1_796_000_000 * 1_000_000_000
        let kpi = engine(start: t0, shiftSeconds: 30)   // "early" ends 30 s into the script; no shift after it
        let out = Outputs()
        let s: Int64 = 1_000_000_000
        kpi.observe(0, sample(0, 1), now: t0, emit: out.take)
        kpi.tick(now: t0 + 20 * s, emit: out.take)
        #expect(out.number(.runSeconds) == 20)
        kpi.tick(now: t0 + 45 * s, emit: out.take)
        // Only the 30 s inside the shift count for it; between shifts the name is empty.
        #expect(out.number(.runSeconds) == 30 && out.text(.shift) == "")
    }

    @Test func countersWrapInTheUpperHalfAndResetBelowIt() {
        var last: Int64 = -1
        #expect(KPIEngine.increment(&last, 100, modulus: 65536) == 0)
        #expect(KPIEngine.increment(&last, 110, modulus: 65536) == 10)
        #expect(KPIEngine.increment(&last, 5, modulus: 65536) == 5)       // reset to 0, then 5
        last = 65530
        #expect(KPIEngine.increment(&last, 4, modulus: 65536) == 10)      // wrapped
        #expect(KPIEngine.increment(&last, -3, modulus: 65536) == 0 && last == 4)
    }

    @Test func eventTextIsEscapedAndAlwaysWholeJSON() {
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 24)
        defer { buffer.deallocate() }
        var at = 0
        JSONBytes.append("{\"r\":", to: buffer, at: &at)
        JSONBytes.appendQuoted(Array("a\"b\\c\u{01}defghijklmnop".utf8), to: buffer, at: &at, reserve: 1)
        JSONBytes.append("}", to: buffer, at: &at)
        let text = String(decoding: buffer.prefix(at), as: UTF8.self)
        #expect(text == #"{"r":"a\"b\\c\u0001def"}"#, "\(text)")
        at = 0
        JSONBytes.appendInt(-9_223_372_036_854_775_807, to: buffer, at: &at)
        #expect(String(decoding: buffer.prefix(at), as: UTF8.self) == "-9223372036854775807")
        at = 0
        JSONBytes.appendInt(0, to: buffer, at: &at)
        #expect(String(decoding: buffer.prefix(at), as: UTF8.self) == "0")
    }

    @Test func aShiftThatEndsWhenItStartsLastsADay() {
        let calendar = ShiftCalendar(shifts: [Shift(name: "day", startSecond: 6 * 3600, endSecond: 6 * 3600)])
        #expect(calendar.shifts[0].lengthSeconds == 86_400)
        let now = Clock.realtimeNs()
        let found = calendar.shift(at: now)
        #expect(found != nil)
        if let found { #expect(found.startNs <= now && now < found.endNs && found.endNs - found.startNs == 86_400 * 1_000_000_000) }
    }

    @Test func shiftsAcrossMidnightAreFound() {
        let calendar = ShiftCalendar(shifts: [Shift(name: "night", startSecond: 22 * 3600, endSecond: 6 * 3600)])
        #expect(calendar.shifts[0].lengthSeconds == 8 * 3600)
        #expect(calendar.shifts[0].ranges == [79_200..<86_400, 0..<21_600])
        let now = Clock.realtimeNs()
        if let found = calendar.shift(at: now) {
            #expect(found.endNs - found.startNs == 8 * 3600 * 1_000_000_000)
            #expect(found.startNs <= now && now < found.endNs)
        } else {
            let second = Self.secondOfDay(now)
            #expect(second >= 6 * 3600 && second < 22 * 3600)
        }
    }
}
