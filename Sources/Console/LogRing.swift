import FoundationEssentials
import RailgateCore
import Logging

/// The last log lines, for `show log`. A `LogHandler` that formats like
/// the stream handler and keeps `capacity` lines in memory.
public final class LogRing: @unchecked Sendable {
    private let lock = Lock()
    private var lines: [String] = []
    private let capacity: Int

    public init(capacity: Int = 500) { self.capacity = capacity }

    func append(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        lines.append(line)
        if lines.count > capacity { lines.removeFirst(lines.count - capacity) }
    }

    public func last(_ count: Int) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return Array(lines.suffix(count))
    }

    public func handler(label: String, level: Logger.Level) -> some LogHandler {
        Handler(ring: self, label: label, logLevel: level)
    }

    struct Handler: LogHandler {
        let ring: LogRing
        let label: String
        var logLevel: Logger.Level
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                 file: String, function: String, line: UInt) {
            let merged = metadata.merging(explicit ?? [:]) { $1 }
            let fields = merged.keys.sorted().map { "\($0)=\(merged[$0]!)" }.joined(separator: " ")
            let time = UTCText.now()
            ring.append("\(time) \(level) \(label): \(message)\(fields.isEmpty ? "" : " [\(fields)]")")
        }
    }
}
