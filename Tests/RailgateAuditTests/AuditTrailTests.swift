import Foundation
import Testing
@testable import RailgateAudit

struct AuditTrailTests {
    let path = NSTemporaryDirectory() + "audit-\(UUID().uuidString).log"

    func lines() throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func write(_ lines: [String]) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
    }

    func fill(_ count: Int) throws {
        let trail = try AuditTrail(path: path)
        for i in 0..<count {
            try trail.append(event: "write", user: "opcua:mes@s\(i)",
                             details: ["tag": "acme/m1/setpoint", "value": "\(i)", "outcome": "done"])
        }
    }

    @Test func entriesChainAndSurviveReopening() throws {
        try fill(3)
        try fill(2)  // a restart continues the chain
        let report = try AuditTrail.verify(path: path)
        #expect(report.entries == 5)
        let first = try lines()[0]
        #expect(first.hasPrefix("{\"seq\":1,\"time\":\""))
        #expect(first.contains("\"event\":\"write\",\"user\":\"opcua:mes@s0\",\"details\":{\"tag\":\"acme/m1/setpoint\",\"value\":\"0\",\"outcome\":\"done\"}"))
        #expect(first.contains("\"prev\":\"\(String(repeating: "0", count: 64))\""))
    }

    @Test func queuedEntriesAreWrittenInOrderWithTheOthers() throws {
        let trail = try AuditTrail(path: path)
        for i in 0..<50 {
            trail.appendQueued(event: "write", user: "bus", fields: [("value", "\(i)")])
        }
        // A direct append writes what was queued before it first.
        try trail.append(event: "commit", user: "tech", details: ["n": "1"])
        trail.appendQueued(event: "write", user: "bus", fields: [("value", "50")])
        #expect(trail.flushQueued())
        let report = try AuditTrail.verify(path: path)
        #expect(report.entries == 52)
        let values = try lines().map { line in line.range(of: "\"value\":\"").map { String(line[$0.upperBound...].prefix { $0 != "\"" }) } ?? "commit" }
        #expect(values == (0..<50).map(String.init) + ["commit", "50"])
    }

    @Test func entriesQueuedWhenTheTrailGoesAwayAreWritten() throws {
        do {
            let trail = try AuditTrail(path: path)
            for i in 0..<5 { trail.appendQueued(event: "write", user: "bus", fields: [("value", "\(i)")]) }
        }
        // The writer thread may be holding the trail while it writes: the last reference, and the
        // final write, then go with it a moment later.
        var entries = 0
        for _ in 0..<200 {
            entries = (try? AuditTrail.verify(path: path).entries) ?? 0
            if entries == 5 { break }
            usleep(10_000)
        }
        #expect(entries == 5)
    }

    @Test func anEditedEntryIsDetected() throws {
        try fill(4)
        var content = try lines()
        content[1] = content[1].replacingOccurrences(of: "\"value\":\"1\"", with: "\"value\":\"9\"")
        try write(content)
        #expect(throws: AuditError(path: path, line: 2, message: "entry 2 was altered: its hash does not match its text")) {
            try AuditTrail.verify(path: path)
        }
    }

    @Test func aRemovedEntryIsDetected() throws {
        try fill(4)
        var content = try lines()
        content.remove(at: 2)
        try write(content)
        #expect(throws: AuditError.self) { try AuditTrail.verify(path: path) }
        do {
            _ = try AuditTrail.verify(path: path)
        } catch {
            #expect(error.line == 3 && error.message.contains("chain broken"))
        }
    }

    @Test func aRewrittenChainStillBreaksAtTheEdit() throws {
        // Editing an entry and recomputing its own hash still breaks the next link.
        try fill(3)
        var content = try lines()
        let edited = content[0].replacingOccurrences(of: "\"value\":\"0\"", with: "\"value\":\"7\"")
        let entry = try #require(AuditTrail.parse(edited))
        content[0] = entry.hashed + ",\"hash\":\"\(AuditTrail.sha256(entry.hashed))\"}"
        try write(content)
        do {
            _ = try AuditTrail.verify(path: path)
            Issue.record("expected a broken chain")
        } catch {
            #expect(error.line == 2)
        }
    }

    @Test func garbageIsNotAnEntry() throws {
        try fill(1)
        try write(try lines() + ["hello"])
        do {
            _ = try AuditTrail.verify(path: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 2 && error.message.contains("not an audit entry"))
        }
    }

    @Test func timestampsAreUTCMilliseconds() {
        #expect(AuditTrail.iso8601(1_704_067_200_123_000_000) == "2024-01-01T00:00:00.123Z")
    }
}
