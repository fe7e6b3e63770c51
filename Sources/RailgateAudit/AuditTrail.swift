import Crypto
import Foundation
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
public final class AuditTrail: Sendable {
    public let path: String
    private let state: Mutex<(fd: Int32, seq: UInt64, last: String)>

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
        state = Mutex((fd, seq, last))
    }

    deinit {
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
            let seq = state.seq + 1
            var text = "{\"seq\":\(seq),\"time\":\(JSONText.quoted(Self.iso8601(time))),\"event\":\(JSONText.quoted(event))"
            text += ",\"user\":\(JSONText.quoted(user)),\"details\":{"
            text += details.map { "\(JSONText.quoted($0.0)):\(JSONText.quoted($0.1))" }.joined(separator: ",")
            text += "},\"prev\":\"\(state.last)\""
            let hash = Self.sha256(text)
            let line = Array("\(text),\"hash\":\"\(hash)\"}\n".utf8)
            let written = line.withUnsafeBytes { Glibc.write(state.fd, $0.baseAddress, $0.count) }
            guard written == line.count, fsync(state.fd) == 0 else {
                return .failure(AuditError(path: path, line: nil, message: "write failed: \(String(cString: strerror(errno)))"))
            }
            state.seq = seq
            state.last = hash
            return .success(hash)
        }
        return try result.get()
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
        for (index, raw) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            if raw.isEmpty {
                if index == data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count - 1 { break }
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
        guard let marker = line.range(of: ",\"hash\":\"", options: .backwards), line.hasSuffix("\"}") else { return nil }
        let hashed = String(line[..<marker.lowerBound])
        let hash = String(line[marker.upperBound..<line.index(line.endIndex, offsetBy: -2)])
        guard hash.count == 64, hashed.hasPrefix("{\"seq\":"),
              let prevRange = hashed.range(of: ",\"prev\":\"", options: .backwards),
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
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// UTC, milliseconds: 2026-11-25T14:00:00.123Z
    static func iso8601(_ ns: Int64) -> String {
        var seconds = time_t(ns / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int((ns / 1_000_000) % 1000)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
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
