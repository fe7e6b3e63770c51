import Console
import FoundationEssentials
import Glibc
import Logging
import RailgateCore

/// Keeps the KPI engine's state in a file (`kpi.state_file`) so a restart in the middle of a shift
/// goes on with the same figures: written every few seconds by its own thread (`rg-kpi`) and at
/// stop, atomically (temporary file, fsync, rename); read once at start. A file that cannot be
/// read is set aside as `<file>.bad` and the figures start from zero — it never stops the gateway.
final class KPIStateFile: @unchecked Sendable {
    let path: String
    private let logger: Logger
    private let stopRequested = Wakeup()
    private weak var engine: KPIEngine?
    static let intervalNs: Int64 = 5_000_000_000

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// The persisted state, or nil (no file, or a file that is not a KPI state).
    func load() -> KPISnapshot? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(KPISnapshot.self, from: data)
        } catch {
            logger.error("KPI state file unreadable; set aside, figures start from zero",
                         metadata: ["file": "\(path)", "error": "\(error)"])
            _ = rename(path, path + ".bad")
            return nil
        }
    }

    func start(_ engine: KPIEngine) {
        self.engine = engine
        OSThread.start(name: "rg-kpi") { [self] in
            while !stopRequested.wait(timeoutNs: Self.intervalNs) { save() }
        }
    }

    /// Stops the thread and writes a last time (after the engine's last drain).
    func stop() {
        stopRequested.signal()
        save()
    }

    func save() {
        guard let engine else { return }
        do {
            let data = try JSONEncoder().encode(engine.snapshot())
            try FileManager.default.createDirectory(atPath: Path.directory(of: path),
                                                    withIntermediateDirectories: true)
            try ConfigStore.writeAtomically(String(decoding: data, as: UTF8.self), to: path)
        } catch {
            logger.error("KPI state not saved", metadata: ["file": "\(path)", "error": "\(error)"])
        }
    }
}
