import Synchronization

/// The result of a write request from north.
public enum WriteOutcome: Sendable, Equatable, CustomStringConvertible {
    /// The device acknowledged the write.
    case done
    /// Railgate refused the request before touching the device (policy, tag, value).
    case refused(String)
    /// The device or the line failed the write.
    case failed(String)

    public var description: String {
        switch self {
        case .done: "done"
        case .refused(let why): "refused: \(why)"
        case .failed(let why): "failed: \(why)"
        }
    }
}

/// Something that owns tags and can execute writes to them (a bus thread).
public protocol TagWriteTarget: AnyObject, Sendable {
    /// Queues a write of an engineering value to tag `tag` (gateway tag index).
    /// `completion` is called once, from the bus thread.
    func submitWrite(tag: Int, value: WriteValue, completion: @escaping @Sendable (WriteOutcome) -> Void)
}

/// One line of the write audit trail: who asked what, and what happened.
public struct WriteAuditRecord: Sendable, Equatable {
    /// CLOCK_REALTIME ns when the outcome was known.
    public var timestamp: Int64
    /// Who asked, e.g. `opcua:session-3`, `console:ttyS0`, `test`.
    public var origin: String
    public var path: String
    public var value: WriteValue
    public var outcome: WriteOutcome
    /// The tag's index, when the request named a tag that exists.
    public var tag: Int?
    /// The tag as it was when the write was asked for (its old value).
    public var old: TagState?
    /// Why, as the person asking gave it (required in Part 11 mode).
    public var reason: String?

    public init(timestamp: Int64, origin: String, path: String, value: WriteValue, outcome: WriteOutcome,
                tag: Int? = nil, old: TagState? = nil, reason: String? = nil) {
        self.reason = reason
        self.timestamp = timestamp
        self.origin = origin
        self.path = path
        self.value = value
        self.outcome = outcome
        self.tag = tag
        self.old = old
    }
}

/// Entry point for every write from north. Checks the global write policy
/// and the tag's `writable` flag, routes the request to the bus that owns
/// the tag, and reports every request — refused or not — to the audit sink.
public final class WriteRouter: Sendable {
    public let table: TagTable
    private let writesEnabled: Bool
    private let targets: [(any TagWriteTarget)?]
    private let localIndices: [Int]?
    private let audit: @Sendable (WriteAuditRecord) -> Void
    /// Part 11 mode: a write without a reason is refused.
    public let requiresReason: Bool

    /// - Parameters:
    ///   - targets: the owner of each tag, indexed like `table.tags`.
    ///   - localIndices: each tag's index within its owner (nil: the table index).
    public init(table: TagTable, writesEnabled: Bool, targets: [(any TagWriteTarget)?], localIndices: [Int]? = nil,
                requiresReason: Bool = false, audit: @escaping @Sendable (WriteAuditRecord) -> Void) {
        self.requiresReason = requiresReason
        precondition(targets.count == table.count, "one write target slot per tag")
        precondition(localIndices == nil || localIndices?.count == table.count, "one local index per tag")
        self.localIndices = localIndices
        self.table = table
        self.writesEnabled = writesEnabled
        self.targets = targets
        self.audit = audit
    }

    /// Requests a write to the tag at `path`: for the edges where a person names a tag (the
    /// console, tests); north protocols know the tag's index and use `write(tag:…)`.
    public func write(path: String, value: WriteValue, origin: String, reason: String? = nil,
                      completion: @escaping @Sendable (WriteOutcome) -> Void) {
        guard let index = table.index(ofPath: path) else {
            audit(WriteAuditRecord(timestamp: Clock.realtimeNs(), origin: origin, path: path, value: value,
                                   outcome: .refused("no tag \(path)"), reason: reason))
            return completion(.refused("no tag \(path)"))
        }
        write(tag: index, value: value, origin: origin, reason: reason, completion: completion)
    }

    /// Requests a write to tag `index` of the table. A tag with a code map also takes one of its
    /// codes as text, written as the code's raw value.
    public func write(tag index: Int, value: WriteValue, origin: String, reason: String? = nil,
                      completion: @escaping @Sendable (WriteOutcome) -> Void) {
        guard table.tags.indices.contains(index) else {
            audit(WriteAuditRecord(timestamp: Clock.realtimeNs(), origin: origin, path: "#\(index)", value: value,
                                   outcome: .refused("no tag #\(index)"), reason: reason))
            return completion(.refused("no tag #\(index)"))
        }
        let audit = self.audit
        let path = table.tags[index].path
        let old = table.state(index)
        let finish: @Sendable (WriteOutcome) -> Void = { outcome in
            audit(WriteAuditRecord(timestamp: Clock.realtimeNs(), origin: origin, path: path,
                                   value: value, outcome: outcome, tag: index, old: old, reason: reason))
            completion(outcome)
        }
        if requiresReason && !(reason?.contains(where: { !$0.isWhitespace }) ?? false) {
            return finish(.refused("Part 11 mode: a write needs a reason"))
        }
        if case .number(let number) = value, !number.isFinite {
            return finish(.refused("\(number) is not a finite number"))
        }
        var request = value
        if case .text(let code) = value, let codes = table.tags[index].codes {
            // A mapped tag takes its code (the audit trail keeps the code as asked).
            guard let raw = codes.value(of: code) else {
                return finish(.refused("\"\(code)\" is not a code of map \(codes.name)"))
            }
            request = .number(Double(raw))
        }
        guard writesEnabled else {
            return finish(.refused("writes are disabled by the gateway's write policy (gateway.writes)"))
        }
        guard table.tags[index].writable else {
            return finish(.refused("tag is not writable"))
        }
        guard let target = targets[index] else {
            return finish(.refused("tag has no bus that can write it"))
        }
        target.submitWrite(tag: localIndices?[index] ?? index, value: request, completion: finish)
    }

    /// Blocking form of `write` for threads that may wait (console, tests).
    public func writeAndWait(path: String, value: WriteValue, origin: String, reason: String? = nil,
                             timeoutNs: Int64 = 10_000_000_000) -> WriteOutcome {
        let answer = Answer<WriteOutcome>()
        write(path: path, value: value, origin: origin, reason: reason) { answer.deliver($0) }
        return answer.wait(timeoutNs: timeoutNs) ?? .failed("no answer from the bus within \(timeoutNs / 1_000_000) ms")
    }
}
