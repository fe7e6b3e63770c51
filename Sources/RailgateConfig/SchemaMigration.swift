import Yams

/// Configuration schema versions. A file says `schema: N`; a file without
/// it is schema 1. Older schemas are migrated in memory, each change noted
/// for the operator (`railgate check` prints them, `railgate run` logs them);
/// the file itself is not rewritten.
///
/// - 1: the first release.
/// - 2: a Modbus bus's response timeout is `response_timeout_ms`, the name
///   PROFIBUS lines use (it was `timeout_ms`).
public enum ConfigSchema {
    public static let current = 2

    /// One change made to an older configuration.
    public struct Note: Sendable, Equatable, CustomStringConvertible {
        public var line: Int?
        public var text: String
        public var description: String { line.map { "line \($0): \(text)" } ?? text }
    }

    /// Brings `root` to the current schema. Returns the version the file had
    /// (nil when its `schema` value is unusable, reported by the reader).
    static func migrate(_ root: inout Node, notes: inout [Note]) -> Int? {
        guard var mapping = root.mapping else { return nil }
        var version = 1
        if let value = mapping["schema"] {
            guard let number = value.scalar.flatMap({ Int($0.string) }), (1...current).contains(number) else { return nil }
            version = number
        }
        if version < 2, let south = mapping["south"]?.sequence {
            var migrated: [Node] = []
            for (index, bus) in south.enumerated() {
                guard var entry = bus.mapping, let protocolName = entry["protocol"]?.string, protocolName.hasPrefix("modbus"),
                      let timeout = entry["timeout_ms"], entry["response_timeout_ms"] == nil else {
                    migrated.append(bus)
                    continue
                }
                entry["timeout_ms"] = nil
                entry["response_timeout_ms"] = timeout
                notes.append(Note(line: timeout.mark?.line,
                                  text: "south[\(index)].timeout_ms is now south[\(index)].response_timeout_ms"))
                migrated.append(.mapping(entry))
            }
            mapping["south"] = .sequence(Node.Sequence(migrated))
        }
        root = .mapping(mapping)
        return version
    }
}
