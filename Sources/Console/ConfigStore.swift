import RailgateCore
import Dispatch
import FoundationEssentials
import Glibc
import RailgateConfig
import Synchronization

/// Commits, the committed-configuration history and `commit confirmed`.
/// One per control server, shared by every console session.
public final class ConfigStore: @unchecked Sendable {
    let control: any GatewayControl
    let directory: String
    let keep: Int
    private let lock = Lock()
    /// A `commit confirmed` waiting for `confirm` (guarded by `lock`).
    private var confirmation = CommitConfirmation()

    public init(control: any GatewayControl, directory: String, keep: Int) {
        self.control = control
        self.directory = directory
        self.keep = keep
    }

    public struct CommitError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Applies a validated candidate, keeps the previous configuration in
    /// the history, rewrites the configuration file and records the commit
    /// with its diff. With `confirmMinutes` the previous configuration comes
    /// back by itself unless `confirm` arrives in time.
    /// - Parameter signedBy: the signer of the commit (Part 11 mode); recorded with the meaning
    ///   of the signature.
    public func commit(_ configuration: Configuration, text: String, user: String, comment: String?,
                       confirmMinutes: Double? = nil, signedBy: String? = nil) throws(CommitError) -> String {
        lock.lock()
        defer { lock.unlock() }
        let previous = control.running()
        let diff = LineDiff.compare(previous.text, text)
        // The file first, so the gateway's start entry carries the new file's digest.
        do {
            try Self.writeAtomically(text, to: previous.path)
        } catch {
            throw CommitError(message: "commit failed, nothing applied: \(error)")
        }
        do {
            try control.apply(configuration, text: text, change: ConfigurationChange(
                action: confirmMinutes == nil ? "commit" : "commit confirmed",
                user: signedBy.map { "\(user), signed by \($0)" } ?? user, comment: comment))
        } catch {
            try? Self.writeAtomically(previous.text, to: previous.path)
            throw CommitError(message: "commit failed, the running configuration stays: \(error)")
        }
        var notes: [String] = []
        do {
            try saveHistory(previous.text)
        } catch {
            notes.append("warning: the previous configuration was not kept for rollback: \(error)")
        }
        var details: [(String, String)] = [("config", previous.path), ("comment", comment ?? ""), ("diff", diff)]
        if let signedBy {
            // The gateway's start entry that follows carries the new file's SHA-256.
            details += [("signed_by", signedBy), ("signature_meaning", "approval of the configuration change")]
        }
        switch confirmation.handle(.committed(previous: previous.text, user: user,
                                              confirmWithin: confirmMinutes.map { $0 * 60 }, now: Date())) {
        case .armTimer(let number, let seconds):
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [weak self] in
                self?.expire(number)
            }
            let minutes = Self.minutes(confirmMinutes ?? seconds / 60)
            details.append(("confirm_within_min", minutes))
            notes.append("commit confirmed: the previous configuration returns in \(minutes) min unless you enter \"confirm\"")
        case .supersededPending:
            notes.append("the pending commit confirmed is confirmed")
        default:
            break
        }
        control.audit(confirmMinutes == nil ? "commit" : "commit confirmed", user: user, details: details)
        return (["commit complete"] + notes).joined(separator: "\n")
    }

    /// Keeps the configuration of a `commit confirmed`.
    public func confirm(user: String) -> String {
        lock.lock()
        defer { lock.unlock() }
        guard confirmation.handle(.confirm) == .confirmed else { return "nothing to confirm" }
        control.audit("confirm", user: user, details: [("config", control.running().path)])
        return "commit confirmed"
    }

    /// Time left before an unconfirmed commit is rolled back, if any.
    public var pendingConfirmation: (user: String, deadline: Date)? {
        lock.lock()
        defer { lock.unlock() }
        return confirmation.pending.map { ($0.user, $0.deadline) }
    }

    private func expire(_ number: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard case .rollBack(let previous, let user) = confirmation.handle(.timerFired(generation: number)) else { return }
        let running = control.running()
        let diff = LineDiff.compare(running.text, previous)
        do {
            let configuration = try Configuration.load(yaml: previous,
                                                       baseDirectory: Path.directory(of: running.path))
            try Self.writeAtomically(previous, to: running.path)
            do {
                try control.apply(configuration, text: previous, change: ConfigurationChange(
                    action: "rollback", user: "railgate (commit confirmed by \(user) was not confirmed)"))
            } catch {
                try? Self.writeAtomically(running.text, to: running.path)
                throw error
            }
            try? saveHistory(running.text)
            control.audit("rollback", user: "railgate (commit confirmed by \(user) was not confirmed)",
                          details: [("config", running.path), ("diff", diff)])
        } catch {
            control.audit("rollback failed", user: "railgate", details: [("error", "\(error)")])
        }
    }

    /// Committed configuration `n` back (1 = the one before the running one).
    public func history(_ n: Int) throws(CommitError) -> String {
        guard n >= 1 && n <= keep else { throw CommitError(message: "rollback takes 1…\(keep)") }
        guard let text = try? String(contentsOfFile: historyPath(n), encoding: .utf8) else {
            throw CommitError(message: "no configuration \(n) commits back (\(historyCount()) kept)")
        }
        return text
    }

    public func historyCount() -> Int {
        (1...keep).filter { FileManager.default.fileExists(atPath: historyPath($0)) }.count
    }

    private func historyPath(_ n: Int) -> String { "\(directory)/railgate.yaml.\(n)" }

    /// Shifts the history by one and stores `text` as entry 1.
    private func saveHistory(_ text: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: historyPath(keep))
        for n in stride(from: keep - 1, through: 1, by: -1) where FileManager.default.fileExists(atPath: historyPath(n)) {
            try FileManager.default.moveItem(atPath: historyPath(n), toPath: historyPath(n + 1))
        }
        try Self.writeAtomically(text, to: historyPath(1))
    }

    /// Write to a temporary file, fsync, rename: a power cut leaves the old or the new file.
    public static func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw CommitError(message: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            throw CommitError(message: "cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func minutes(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
