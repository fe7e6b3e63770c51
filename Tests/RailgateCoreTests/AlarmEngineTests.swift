import Testing
@testable import RailgateCore

struct AlarmEngineTests {
    let engine = AlarmEngine(definitions: [
        AlarmDefinition(name: "tank-temp", tag: 0, output: 2,
                        kind: .limit(highHigh: 90, high: 80, low: 10, lowLow: 5, deadband: 2), severity: 700,
                        message: "Tank temperature"),
        AlarmDefinition(name: "door", tag: 1, kind: .offNormal(normal: [0]), severity: 400, message: "Door open"),
    ])

    /// Feeds values to tag 0 (or `tag`); the alarm states after each, as "limit/acked".
    func feed(_ values: [Double], tag: Int = 0, alarm: Int = 0) -> [String] {
        values.enumerated().map { step, value in
            let kind: ValueKind = tag == 0 ? .double : .uint
            let sample = Sample(tag: UInt32(tag), quality: .good, timestamp: Int64(step),
                                value: tag == 0 ? SampleValue(double: value) : SampleValue(uint: UInt64(value)))
            engine.observe(tag, sample, kind: kind, now: Int64(step)) { _ in }
            let state = engine.state(alarm)!
            let active = state.limit == .normal ? "active" : state.limit.description
            return "\(state.active ? active : "-")/\(state.acknowledged ? "acked" : "unacked")"
        }
    }

    @Test func limitsAreExclusiveWithHysteresis() {
        #expect(feed([50, 81, 91, 89, 87.9, 79, 77.9, 50]) == [
            "-/acked", "High/unacked", "HighHigh/unacked", "HighHigh/unacked",  // 89 > 90 − 2: still HighHigh
            "High/unacked", "High/unacked",                                      // 79 > 80 − 2: still High
            "-/unacked", "-/unacked",                                            // cleared, not yet acknowledged
        ])
        #expect(feed([9, 4, 6.9, 7.1, 12.1]) == ["Low/unacked", "LowLow/unacked", "LowLow/unacked", "Low/unacked", "-/unacked"])
    }

    @Test func acknowledgmentHoldsUntilTheAlarmGetsWorse() {
        _ = feed([81])
        let (refusal, state) = engine.acknowledge(0, user: "opcua:operator@s1", comment: "checking the cooler", now: 5)
        #expect(refusal == nil && state?.acknowledged == true && state?.comment == "checking the cooler")
        #expect(engine.acknowledge(0, user: "x", comment: "", now: 6).0 == "already acknowledged")
        // Worse: a new acknowledgment is needed; back to High: not.
        #expect(feed([91, 85]) == ["HighHigh/unacked", "High/unacked"])
        _ = engine.acknowledge(0, user: "u", comment: "", now: 7)
        #expect(feed([50]) == ["-/acked"])
        #expect(engine.state(0)?.retain == false)
        #expect(engine.acknowledge(7, user: "u", comment: "", now: 8).0 == "no such alarm")
    }

    @Test func offNormalAndQualityChanges() {
        #expect(feed([0, 1, 0], tag: 1, alarm: 1) == ["-/acked", "active/unacked", "-/unacked"])
        _ = engine.takeEvents()
        engine.observe(1, Sample(tag: 1, quality: Quality(reason: .timeout), timestamp: 9, value: SampleValue(uint: 5)),
                       kind: .uint, now: 9) { _ in Issue.record("the door alarm has no state tag") }
        // A bad sample changes the quality, not the state.
        #expect(engine.takeEvents().events.map(\.transition) == [.quality] && engine.state(1)?.active == false)
        #expect(!engine.watches(2) && engine.watches(1))
    }

    @Test func notANumberKeepsTheState() {
        _ = feed([81])
        #expect(feed([.nan]) == ["High/unacked"])
    }

    /// The state tag's samples: published at the first value, on every change of state, quality
    /// or acknowledgment, never twice for the same code.
    @Test func stateTagCodes() {
        var published: [(UInt64, Quality)] = []
        func observe(_ value: Double, quality: Quality = .good) {
            engine.observe(0, Sample(tag: 0, quality: quality, timestamp: 0, value: SampleValue(double: value)),
                           kind: .double, now: 1) { sample in
                #expect(sample.tag == 2)
                published.append((sample.value.uint, sample.quality))
            }
        }
        observe(50)
        observe(51)
        observe(81)
        observe(95)
        observe(95, quality: Quality(reason: .timeout))
        #expect(published.map(\.0) == [0, 3, 5, 5] && published.last?.1 == Quality(reason: .timeout))
        #expect(AlarmEngine.stateCodes.code(for: 5) == "HighHigh (unacknowledged)")
        #expect(AlarmEngine.stateCodes.code(for: 10) == "OffNormal" && AlarmEngine.stateCodes.count == 12)
        // An acknowledgment is published by the engine thread's next pass.
        observe(95)
        published = []
        _ = engine.acknowledge(0, user: "u", comment: "", now: 3)
        engine.publishAcknowledgments(now: 4) { published.append(($0.value.uint, $0.quality)) }
        engine.publishAcknowledgments(now: 5) { published.append(($0.value.uint, $0.quality)) }
        #expect(published.map(\.0) == [4])
    }

    /// The queue of state changes for OPC UA is bounded: the oldest are overwritten and counted.
    @Test func eventQueueIsBounded() {
        _ = feed([50])
        _ = engine.takeEvents()
        for step in 0..<(AlarmEngine.eventCapacity + 10) { _ = feed([step % 2 == 0 ? 95 : 50]) }
        let (events, lost) = engine.takeEvents()
        #expect(events.count == AlarmEngine.eventCapacity && lost == 10)
        #expect(events.last?.state.active == false && events.first?.state.limit == .highHigh)
        #expect(engine.takeEvents().events.isEmpty)
    }

    /// A commit's new engine keeps the states of alarms of the same name and kind.
    @Test func restoreAcrossCommit() {
        _ = feed([95])
        let next = AlarmEngine(definitions: [
            AlarmDefinition(name: "door", tag: 4, kind: .offNormal(normal: [0]), severity: 400, message: "Door open"),
            AlarmDefinition(name: "tank-temp", tag: 3, kind: .limit(highHigh: 90, high: 80, low: 10, lowLow: 5, deadband: 2),
                            severity: 700, message: "Tank temperature"),
            AlarmDefinition(name: "other", tag: 3, kind: .offNormal(normal: [1]), severity: 1, message: ""),
        ])
        next.restore(from: engine)
        #expect(next.state(1)?.limit == .highHigh && next.state(1)?.acknowledged == false)
        #expect(next.state(0)?.active == false && next.state(2)?.active == false)
    }
}
