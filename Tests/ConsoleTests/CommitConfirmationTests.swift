import Console
import Foundation
import Testing

/// `commit confirmed`, event by event: each row is an event and the action it must give.
struct CommitConfirmationTests {
    typealias Event = CommitConfirmation.Event
    typealias Action = CommitConfirmation.Action
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func commit(_ previous: String, by user: String = "tech", within seconds: Double? = nil) -> Event {
        .committed(previous: previous, user: user, confirmWithin: seconds, now: now)
    }

    static let cases: [(String, [(Event, Action)])] = [
        ("a plain commit arms nothing", [
            (commit("A"), .none),
            (.confirm, .nothingToConfirm),
        ]),
        ("confirmed in time", [
            (commit("A", within: 60), .armTimer(generation: 1, seconds: 60)),
            (.confirm, .confirmed),
            (.timerFired(generation: 1), .none),
            (.confirm, .nothingToConfirm),
        ]),
        ("not confirmed: back to the text before it", [
            (commit("A", by: "anna", within: 60), .armTimer(generation: 1, seconds: 60)),
            (.timerFired(generation: 1), .rollBack(text: "A", user: "anna")),
            (.timerFired(generation: 1), .none),
            (.confirm, .nothingToConfirm),
        ]),
        ("a second commit confirmed keeps the text from before the first", [
            (commit("A", within: 60), .armTimer(generation: 1, seconds: 60)),
            (commit("B", by: "ben", within: 120), .armTimer(generation: 2, seconds: 120)),
            (.timerFired(generation: 1), .none),
            (.timerFired(generation: 2), .rollBack(text: "A", user: "ben")),
        ]),
        ("a plain commit keeps the waiting one", [
            (commit("A", within: 60), .armTimer(generation: 1, seconds: 60)),
            (commit("B"), .supersededPending),
            (.timerFired(generation: 1), .none),
        ]),
        ("after a rollback a new commit confirmed starts afresh", [
            (commit("A", within: 60), .armTimer(generation: 1, seconds: 60)),
            (.timerFired(generation: 1), .rollBack(text: "A", user: "tech")),
            (commit("A", within: 30), .armTimer(generation: 2, seconds: 30)),
            (.timerFired(generation: 2), .rollBack(text: "A", user: "tech")),
        ]),
    ]

    @Test(arguments: cases.indices) func eventsGiveTheirActions(_ index: Int) {
        let (name, steps) = Self.cases[index]
        var machine = CommitConfirmation()
        for (step, (event, expected)) in steps.enumerated() {
            let action = machine.handle(event)
            #expect(action == expected, "\(name), step \(step + 1): \(event)")
        }
    }

    @Test func theDeadlineAndUserOfTheWaitingCommitAreKnown() {
        var machine = CommitConfirmation()
        _ = machine.handle(Self.commit("A", by: "anna", within: 90))
        #expect(machine.pending?.user == "anna" && machine.pending?.deadline == Self.now.addingTimeInterval(90))
        _ = machine.handle(.confirm)
        #expect(machine.pending == nil)
    }
}
