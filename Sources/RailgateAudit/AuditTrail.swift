import Crypto
import FoundationEssentials
import Glibc
import RailgateCore
import Synchronization

/// An append-only, hash-chained audit trail (JSON Lines): every entry holds
/// the SHA-256 of the entry before it, and its own hash over its text, so an
/// edited, inserted or removed entry breaks the chain (`AuditTrail.verify`).
/// Serves plants under 21 CFR Part 11 / AS9100: who did what, when, and the
/// outcome, for every write and configuration event.
///
/// Line format (fields in this order; `hash` is SHA-256 over everything
/// before `,"hash":`):
///
///     {"seq":7,"time":"2026-11-25T14:00:00.123Z","event":"write","user":"opcua:mes@Session1",
///      "details":{"tag":"acme/…/setpoint","value":"612.0","outcome":"done"},"prev":"…64 hex…","hash":"…64 hex…"}
///
/// Each entry is written with one `write` on an O_APPEND descriptor and
/// fsync'd before `append` returns. Thread-safe.
///
/// `appendQueued` is for threads that must not wait for a disk (a bus thread
/// that just wrote to a device): the entry goes to the trail's writer thread,
/// which writes what has queued up and fsyncs once for all of it. Entries keep
/// the order they were given in, queued or not; at most `maxQueued` wait, past
/// that the caller waits for room (nothing is dropped).
public final class AuditTrail: Sendable {
    public let path: String
    private struct State {
        var fd: Int32
        var seq: UInt64
        var last: String
        var queued: [Pending] = []
    }
    struct Pending {
        var event: String
        var user: String
        var details: [(String, String)]
        var time: Int64
    }
    private let state: Mutex<State>
    private let writerWakeup = Wakeup()
    private let writerStarted = Mutex(false)
    public static let maxQueued = 10_000

    /// The newest entry written: its sequence number and hash (0 and the genesis hash while empty).
    public var head: (seq: UInt64, hash: String) { state.withLock { ($0.seq, $0.last) } }

    static let genesis = String(repeating: "0", count: 64)

    /// Opens (or creates) the trail and continues its chain.
    public init(path: String) throws(AuditError) {
        self.path = path
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw AuditError(path: path, line: nil, message: String(cString: strerror(errno))) }
        var seq: UInt64 = 0
        var last = Self.genesis
        if let tail = Self.lastEntry(path) {
            seq = tail.seq
            last = tail.hash
        }
        state = Mutex(State(fd: fd, seq: seq, last: last))
    }

    deinit {
        _ = writeQueued()
        _ = state.withLock { close($0.fd) }
    }

    /// Appends one entry; returns its hash. `details` keys keep their order.
    @discardableResult
    public func append(event: String, user: String, details: KeyValuePairs<String, String>,
                       at time: Int64 = Clock.realtimeNs()) throws(AuditError) -> String {
        try append(event: event, user: user, fields: details.map { ($0.key, $0.value) }, at: time)
    }

    /// Appends one entry whose details are built at run time, in order.
    @discardableResult
    public func append(event: String, user: String, fields details: [(String, String)],
                       at time: Int64 = Clock.realtimeNs()) throws(AuditError) -> String {
        let result: Result<String, AuditError> = state.withLock { state in
            // Entries queued before this one go first.
            if let error = writePending(into: &state) { return .failure(error) }
            let written = write(Pending(event: event, user: user, details: details, time: time), into: &state)
            guard case .success = written, fsync(state.fd) == 0 else {
                if case .failure(let error) = written { return .failure(error) }
                return .failure(AuditError(path: path, line: nil, message: "fsync failed: \(String(cString: strerror(errno)))"))
            }
            return written
        }
        return try result.get()
    }

    /// Hands an entry to the trail's writer thread and returns at once (see the type's notes).
    /// A failure to write is reported to `onError` on the writer thread.
    public func appendQueued(event: String, user: String, fields details: [(String, String)],
                             at time: Int64 = Clock.realtimeNs(), onError: @escaping @Sendable (AuditError) -> Void = { _ in }) {
        let entry = Pending(event: event, user: user, details: details, time: time)
        startWriter(onError: onError)
        // A full queue holds the caller until the writer has made room (it writes what waits
        // with one fsync): a flood of writes slows its sender, loses no entry. Should the writer
        // not get on within 5 s, the caller writes the entry itself.
        let deadline = Clock.monotonicNs() + 5_000_000_000
        while true {
            let queued = state.withLock { state -> Bool in
                guard state.queued.count < Self.maxQueued else { return false }
                state.queued.append(entry)
                return true
            }
            if queued { break }
            writerWakeup.signal()
            guard Clock.monotonicNs() < deadline else {
                do { try append(event: event, user: user, fields: details, at: time) } catch { onError(error) }
                return
            }
            Clock.sleep(untilMonotonicNs: Clock.monotonicNs() + 1_000_000)
        }
        writerWakeup.signal()
    }

    /// Waits until every queued entry is written and fsync'd (at most `timeoutNs`).
    @discardableResult
    public func flushQueued(timeoutNs: Int64 = 5_000_000_000) -> Bool {
        let deadline = Clock.monotonicNs() + timeoutNs
        while state.withLock({ !$0.queued.isEmpty }) {
            guard Clock.monotonicNs() < deadline else { return false }
            writerWakeup.signal()
            Clock.sleep(untilMonotonicNs: Clock.monotonicNs() + 1_000_000)
        }
        // The writer may hold a batch it took: taking the lock waits for it.
        state.withLock { _ in }
        return true
    }

    private func startWriter(onError: @escaping @Sendable (AuditError) -> Void) {
        let start = writerStarted.withLock { started -> Bool in
            defer { started = true }
            return !started
        }
        guard start else { return }
        // The thread holds the trail only while it writes: a trail let go of is freed (and writes
        // what waits) at once, and the thread ends at its next turn.
        let wakeup = writerWakeup
        OSThread.start(name: "rg-audit") { [weak self] in
            while true {
                wakeup.wait(timeoutNs: 1_000_000_000)
                guard let trail = self else { return }
                if let error = trail.writeQueued() { onError(error) }
            }
        }
    }

    /// Writes what is queued and fsyncs once; the error of the first entry not written.
    private func writeQueued() -> AuditError? {
        state.withLock { state in
            guard !state.queued.isEmpty else { return nil }
            if let error = writePending(into: &state) { return error }
            guard fsync(state.fd) == 0 else {
                return AuditError(path: path, line: nil, message: "fsync failed: \(String(cString: strerror(errno)))")
            }
            return nil
        }
    }

    /// Writes the queued entries, in order; not yet fsync'd. The error of the first not written.
    private func writePending(into state: inout State) -> AuditError? {
        let batch = state.queued
        state.queued = []
        for entry in batch {
            if case .failure(let error) = write(entry, into: &state) { return error }
        }
        return nil
    }

    /// One line, chained to the last; not yet fsync'd.
    private func write(_ entry: Pending, into state: inout State) -> Result<String, AuditError> {
        let seq = state.seq + 1
        var text = "{\"seq\":\(seq),\"time\":\(JSONText.quoted(Self.iso8601(entry.time))),\"event\":\(JSONText.quoted(entry.event))"
        text += ",\"user\":\(JSONText.quoted(entry.user)),\"details\":{"
        text += entry.details.map { "\(JSONText.quoted($0.0)):\(JSONText.quoted($0.1))" }.joined(separator: ",")
        text += "},\"prev\":\"\(state.last)\""
        let hash = Self.sha256(text)
        let line = Array("\(text),\"hash\":\"\(hash)\"}\n".utf8)
        let written = line.withUnsafeBytes { Glibc.write(state.fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            return .failure(AuditError(path: path, line: nil, message: "write failed: \(String(cString: strerror(errno)))"))
        }
        state.seq = seq
        state.last = hash
        return .success(hash)
    }

    // MARK: Verification

    /// What `verify` found.
    public struct Report: Sendable, Equatable {
        public var entries: Int
        public var lastHash: String
    }

    /// Checks every entry: its hash, the link to the previous entry and the
    /// sequence. Throws at the first break, naming the line.
    public static func verify(path: String) throws(AuditError) -> Report {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuditError(path: path, line: nil, message: "cannot read the file")
        }
        var previous = genesis
        var expectedSeq: UInt64 = 1
        var count = 0
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, raw) in lines.enumerated() {
            let number = index + 1
            if raw.isEmpty {
                if index == lines.count - 1 { break }
                throw AuditError(path: path, line: number, message: "empty line inside the trail")
            }
            let line = String(decoding: raw, as: UTF8.self)
            guard let entry = parse(line) else {
                throw AuditError(path: path, line: number, message: "not an audit entry (edited or damaged)")
            }
            guard sha256(entry.hashed) == entry.hash else {
                throw AuditError(path: path, line: number, message: "entry \(entry.seq) was altered: its hash does not match its text")
            }
            guard entry.prev == previous else {
                throw AuditError(path: path, line: number,
                                 message: "chain broken before entry \(entry.seq): an entry was removed, inserted or altered")
            }
            guard entry.seq == expectedSeq else {
                throw AuditError(path: path, line: number,
                                 message: "entry \(entry.seq) where \(expectedSeq) was expected: entries are missing")
            }
            previous = entry.hash
            expectedSeq += 1
            count += 1
        }
        return Report(entries: count, lastHash: previous)
    }

    struct Entry {
        var seq: UInt64
        var prev: String
        var hash: String
        var hashed: String
    }

    static func parse(_ line: String) -> Entry? {
        guard let marker = line.lastRange(of: ",\"hash\":\""), line.hasSuffix("\"}") else { return nil }
        let hashed = String(line[..<marker.lowerBound])
        let hash = String(line[marker.upperBound..<line.index(line.endIndex, offsetBy: -2)])
        guard hash.count == 64, hashed.hasPrefix("{\"seq\":"),
              let prevRange = hashed.lastRange(of: ",\"prev\":\""),
              hashed.hasSuffix("\"") else { return nil }
        let prev = String(hashed[prevRange.upperBound..<hashed.index(before: hashed.endIndex)])
        let seqText = hashed.dropFirst("{\"seq\":".count).prefix { $0.isNumber }
        guard prev.count == 64, let seq = UInt64(seqText) else { return nil }
        return Entry(seq: seq, prev: prev, hash: hash, hashed: hashed)
    }

    static func lastEntry(_ path: String) -> (seq: UInt64, hash: String)? {
        guard let line = FileTail.lastLines(of: path, count: 1)?.last, let entry = parse(line) else { return nil }
        return (entry.seq, entry.hash)
    }

    static func sha256(_ text: String) -> String {
        sha256Hex(Data(text.utf8))
    }

    /// Lowercase hex SHA-256 of `data`.
    public static func sha256Hex(_ data: Data) -> String {
        hexText(SHA256.hash(data: data))
    }

    /// UTC, milliseconds: 2026-11-25T14:00:00.123Z
    static func iso8601(_ ns: Int64) -> String {
        UTCText.iso8601(ns: ns)
    }
}

/// A problem with the audit trail, naming the file and line.
public struct AuditError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public var description: String {
        line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)"
    }
}

// MARK: Export

extension AuditTrail {
    /// The columns of `exportCSV`: the entry, then the details most entries have, then the rest.
    public static let csvColumns = ["seq", "time", "event", "user", "tag", "old", "value", "outcome", "reason", "comment",
                                    "signed_by", "signature_meaning", "other_details", "hash"]

    /// A human-readable copy of the trail (21 CFR 11.10(b)) as CSV (RFC 4180), one row per entry,
    /// after checking the whole chain: a trail that does not verify is not copied.
    public static func exportCSV(path: String) throws(AuditError) -> String {
        _ = try verify(path: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuditError(path: path, line: nil, message: "cannot read the file")
        }
        var rows = [csvColumns.map(csvField).joined(separator: ",")]
        for (index, raw) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            guard let entry = try? JSONDecoder().decode(ExportedEntry.self, from: Data(raw)) else {
                throw AuditError(path: path, line: index + 1, message: "not an audit entry")
            }
            var details = entry.details ?? [:]
            func take(_ key: String) -> String { details.removeValue(forKey: key) ?? "" }
            var row = [entry.seq.map { "\($0)" } ?? "", entry.time ?? "", entry.event ?? "", entry.user ?? ""]
            row += ["tag", "old", "value", "outcome", "reason", "comment", "signed_by", "signature_meaning"].map(take)
            row.append(details.keys.sorted().map { "\($0)=\(details[$0] ?? "")" }.joined(separator: "; "))
            row.append(entry.hash ?? "")
            rows.append(row.map(csvField).joined(separator: ","))
        }
        return rows.joined(separator: "\r\n") + "\r\n"
    }

    /// The fields of an entry the export shows (every detail is text: `append`).
    private struct ExportedEntry: Decodable {
        var seq: UInt64?
        var time: String?
        var event: String?
        var user: String?
        var details: [String: String]?
        var hash: String?
    }

    /// A CSV field, quoted when it holds a comma, quote or line break (quotes doubled).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }
}
