import Synchronization
import Testing
@testable import RailgateCore

/// Records what it was asked to write and answers `.done`.
final class RecordingTarget: TagWriteTarget {
    let requests = Mutex<[(Int, WriteValue)]>([])
    func submitWrite(tag: Int, value: WriteValue, completion: @escaping @Sendable (WriteOutcome) -> Void) {
        requests.withLock { $0.append((tag, value)) }
        completion(.done)
    }
}

final class AuditLog: Sendable {
    let records = Mutex<[WriteAuditRecord]>([])
}

struct WriteRouterTests {
    let table = TagTable(tags: [
        Tag(name: "sp", device: "d", path: "a/d/sp", dataType: .uint16, writable: true),
        Tag(name: "ro", device: "d", path: "a/d/ro", dataType: .uint16, writable: false),
    ])

    @Test func policyOffRefusesAndAudits() {
        let target = RecordingTarget()
        let audit = AuditLog()
        let router = WriteRouter(table: table, writesEnabled: false, targets: [target, target]) { r in
            audit.records.withLock { $0.append(r) }
        }
        let outcome = router.writeAndWait(path: "a/d/sp", value: .number(1), origin: "test")
        guard case .refused(let why) = outcome else { Issue.record("expected refusal"); return }
        #expect(why.contains("write policy"))
        #expect(target.requests.withLock { $0.isEmpty })
        #expect(audit.records.withLock { $0.map(\.path) } == ["a/d/sp"])
    }

    @Test func readOnlyAndUnknownTagsAreRefused() {
        let target = RecordingTarget()
        let router = WriteRouter(table: table, writesEnabled: true, targets: [target, target]) { _ in }
        #expect(router.writeAndWait(path: "a/d/ro", value: .number(1), origin: "t") == .refused("tag is not writable"))
        #expect(router.writeAndWait(path: "a/d/zz", value: .number(1), origin: "t") == .refused("no tag a/d/zz"))
        #expect(router.writeAndWait(path: "a/d/sp", value: .number(7), origin: "t") == .done)
        #expect(target.requests.withLock { $0.map(\.0) } == [0])
    }

    @Test func valuesThatAreNotFiniteNumbersAreRefusedBeforeTheBus() {
        let target = RecordingTarget()
        let audit = AuditLog()
        let router = WriteRouter(table: table, writesEnabled: true, targets: [target, target]) { r in
            audit.records.withLock { $0.append(r) }
        }
        #expect(router.writeAndWait(path: "a/d/sp", value: .number(.nan), origin: "t") == .refused("nan is not a finite number"))
        #expect(router.writeAndWait(path: "a/d/sp", value: .number(-.infinity), origin: "t") == .refused("-inf is not a finite number"))
        #expect(target.requests.withLock { $0.isEmpty })
        #expect(audit.records.withLock { $0.count } == 2)
    }

    @Test func writesByIndexAreCheckedAndAuditedWithTheTagsPath() {
        let target = RecordingTarget()
        let audit = AuditLog()
        let router = WriteRouter(table: table, writesEnabled: true, targets: [target, target]) { r in
            audit.records.withLock { $0.append(r) }
        }
        let outcomes = [0, 1, 2, -1].map { index in
            let answer = Answer<WriteOutcome>()
            router.write(tag: index, value: .number(3), origin: "t") { answer.deliver($0) }
            return answer.wait(timeoutNs: 1_000_000_000)
        }
        #expect(outcomes == [.done, .refused("tag is not writable"), .refused("no tag #2"), .refused("no tag #-1")])
        #expect(target.requests.withLock { $0.map(\.0) } == [0])
        #expect(audit.records.withLock { $0.map(\.path) } == ["a/d/sp", "a/d/ro", "#2", "#-1"])
    }
}
