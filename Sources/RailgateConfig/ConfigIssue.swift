/// One problem found in a configuration file: where it is and what is wrong.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// The YAML path, e.g. `south[2].devices[0].tags[7].type`.
    public var path: String
    /// 1-based line in the file, when known.
    public var line: Int?
    public var message: String
    /// Another file than the configuration's own (a device profile), if any.
    public var file: String?

    public init(path: String, line: Int?, message: String, file: String? = nil) {
        self.path = path
        self.line = line
        self.message = message
        self.file = file
    }

    /// `line 14: south[0].devices[0].tags[3].type: unknown type "flaot32"`
    public var description: String {
        let location = line.map { "line \($0): " } ?? ""
        return path.isEmpty ? "\(location)\(message)" : "\(location)\(path): \(message)"
    }
}

/// All problems found in a configuration. Validation collects every issue
/// before failing, so a technician fixes the file in one pass.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// The file the issues refer to, when loaded from a file.
    public var file: String?
    public var issues: [ConfigIssue]

    public init(file: String? = nil, issues: [ConfigIssue]) {
        self.file = file
        self.issues = issues
    }

    /// One issue per line, each prefixed with `file:line:`.
    public var description: String {
        issues.map { issue in
            let prefix = [issue.file ?? file, issue.line.map(String.init)].compactMap { $0 }.joined(separator: ":")
            let location = prefix.isEmpty ? "" : "\(prefix): "
            return issue.path.isEmpty ? "\(location)\(issue.message)" : "\(location)\(issue.path): \(issue.message)"
        }.joined(separator: "\n")
    }
}
