import RailgateYAML

/// Configuration schema versions. A file says `schema: N`; a file without
/// it is schema 1. Older schemas are migrated in memory, each change noted
/// for the operator (`railgate check` prints them, `railgate run` logs them);
/// the file itself is not rewritten.
///
/// - 1: the first release.
/// - 2: a Modbus bus's response timeout is `response_timeout_ms`, the name
///   PROFIBUS lines use (it was `timeout_ms`).
/// - 3: OPC UA users have a `password_hash` (never a clear-text `password`)
///   and a `role`; sessions are read-only unless their role is `operator`
///   (before, every session could write when `opcua.writes` allowed it).
public enum ConfigSchema {
    public static let current = 3

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
                notes.append(Note(line: timeout.line,
                                  text: "south[\(index)].timeout_ms is now south[\(index)].response_timeout_ms"))
                migrated.append(.mapping(entry))
            }
            var list = south
            list.items = migrated
            mapping["south"] = .sequence(list)
        }
        if version < 3, let opcua = mapping["opcua"]?.mapping {
            for (index, user) in (opcua["users"]?.sequence ?? []).enumerated() {
                guard let entry = user.mapping else { continue }
                if let password = entry["password"] {
                    notes.append(Note(line: password.line,
                                      text: "opcua.users[\(index)].password is kept in clear text: replace it with password_hash (railgate hash-password)"))
                }
                if entry["role"] == nil {
                    notes.append(Note(line: user.line, text: "opcua.users[\(index)] has role operator (schema 3 users are read-only unless given role: operator)"))
                }
            }
            if opcua["anonymous"]?.bool != false, opcua["anonymous_role"] == nil, opcua["writes"]?.bool == true {
                notes.append(Note(line: opcua["writes"]?.line,
                                  text: "opcua.anonymous_role is operator (schema 3 anonymous sessions are read-only unless anonymous_role: operator)"))
            }
        }
        root = .mapping(mapping)
        return version
    }
}
