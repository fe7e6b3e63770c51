import RailgateCore
import RailgateYAML

/// Reads one YAML mapping with its path and line, recording every problem in
/// a shared `IssueLog` instead of stopping at the first one.
struct NodeReader {
    let node: Node
    let path: String
    let log: IssueLog
    /// The file this node comes from when it is not the configuration itself.
    var file: String? = nil

    var line: Int? { node.line }

    func child(_ key: String) -> Node? { node.mapping?[key] }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func issue(_ key: String?, _ message: String) {
        let target = key.flatMap { child($0) } ?? node
        log.add(path: key.map(childPath) ?? path, line: target.line ?? line, message: message, file: file)
    }

    /// Reports every key of this mapping that is not in `known`.
    func rejectUnknownKeys(_ known: Set<String>) {
        guard let mapping = node.mapping else { return }
        for (key, value) in mapping {
            guard let name = key.string else { continue }
            if !known.contains(name) {
                let hint = known.sorted().joined(separator: ", ")
                log.add(path: childPath(name), line: key.line ?? value.line,
                        message: "unknown key \"\(name)\" (expected one of: \(hint))", file: file)
            }
        }
    }

    /// The raw scalar text of `key`, as written (so `00001` keeps its zeros).
    func scalar(_ key: String, required: Bool = false) -> String? {
        guard let value = child(key) else {
            if required { issue(nil, "missing required key \"\(key)\"") }
            return nil
        }
        guard let scalar = value.scalar else {
            issue(key, "expected a single value")
            return nil
        }
        return scalar.string
    }

    func string(_ key: String, required: Bool = false) -> String? {
        guard let text = scalar(key, required: required) else { return nil }
        if text.isEmpty {
            issue(key, "must not be empty")
            return nil
        }
        return text
    }

    func int(_ key: String, range: ClosedRange<Int>, required: Bool = false) -> Int? {
        guard let text = scalar(key, required: required) else { return nil }
        guard let value = Int(text) else {
            issue(key, "expected an integer, found \"\(text)\"")
            return nil
        }
        guard range.contains(value) else {
            issue(key, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    func double(_ key: String) -> Double? {
        guard let text = scalar(key) else { return nil }
        guard let value = Double(text), value.isFinite else {
            issue(key, "expected a number, found \"\(text)\"")
            return nil
        }
        return value
    }

    func bool(_ key: String) -> Bool? {
        guard let text = scalar(key) else { return nil }
        guard let value = Node.bool(of: text) else {
            issue(key, "expected true or false, found \"\(text)\"")
            return nil
        }
        return value
    }

    /// A mapping under `key`, or nil (with an issue if present but not a mapping).
    func mapping(_ key: String, required: Bool = false) -> NodeReader? {
        guard let value = child(key) else {
            if required { issue(nil, "missing required section \"\(key)\"") }
            return nil
        }
        guard value.mapping != nil else {
            issue(key, "expected a mapping of keys to values")
            return nil
        }
        return NodeReader(node: value, path: childPath(key), log: log, file: file)
    }

    /// The elements of a sequence under `key`, each as a reader over a mapping.
    func sequence(_ key: String, required: Bool = false) -> [NodeReader] {
        guard let value = child(key) else {
            if required { issue(nil, "missing required list \"\(key)\"") }
            return []
        }
        guard let items = value.sequence else {
            issue(key, "expected a list")
            return []
        }
        var readers: [NodeReader] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(childPath(key))[\(index)]"
            guard item.mapping != nil else {
                log.add(path: itemPath, line: item.line, message: "expected a mapping of keys to values", file: file)
                continue
            }
            readers.append(NodeReader(node: item, path: itemPath, log: log, file: file))
        }
        return readers
    }

    /// The items of a list of scalars `key` (`[a, b]`), each with its path
    /// and line for issues.
    func scalars(_ key: String) -> [(text: String, path: String, line: Int?)] {
        guard let value = child(key) else { return [] }
        guard let items = value.sequence else {
            issue(key, "expected a list")
            return []
        }
        var result: [(text: String, path: String, line: Int?)] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(childPath(key))[\(index)]"
            guard let text = item.scalar?.string else {
                log.add(path: itemPath, line: item.line, message: "expected a single value", file: file)
                continue
            }
            result.append((text, itemPath, item.line))
        }
        return result
    }

    /// Records a problem at an exact path and line.
    func issue(path: String, line: Int?, _ message: String) {
        log.add(path: path, line: line ?? self.line, message: message, file: file)
    }

    /// A two-number list `[low, high]`.
    func range(_ key: String) -> ClosedRange<Double>? {
        guard let value = child(key) else { return nil }
        guard let items = value.sequence, items.count == 2,
              let low = items[0].scalar.flatMap({ Double($0.string) }),
              let high = items[1].scalar.flatMap({ Double($0.string) }) else {
            issue(key, "expected [low, high]")
            return nil
        }
        guard low < high else {
            issue(key, "low \(low) must be below high \(high)")
            return nil
        }
        return low...high
    }
}

/// Collects issues across readers (a class so that value-type readers share it), and what
/// sections read earlier tell later ones: the code maps tags refer to.
final class IssueLog {
    private(set) var issues: [ConfigIssue] = []
    /// The valid maps of `maps:`, by name.
    var codeMaps: [String: CodeMap] = [:]
    /// Names in `maps:` whose map has problems (already reported).
    var unreadableMaps: Set<String> = []

    func add(path: String, line: Int?, message: String, file: String? = nil) {
        issues.append(ConfigIssue(path: path, line: line, message: message, file: file))
    }
}
