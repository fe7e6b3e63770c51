import Foundation
import Glibc
import Yams

/// Reading configuration files and composing their YAML within limits: a
/// file comes from a technician's editor, a console `load`, or an upgrade,
/// and none of them may stop the gateway or the console that reads it.
///
/// - files: at most `maxBytes`, regular files only, UTF-8 where the format
///   says so (the first bad byte is named by line);
/// - YAML: flow nesting at most `maxDepth` deep (libyaml and the composer
///   recurse per level), aliases expanding to at most `maxNodes` nodes (a
///   2 KB "billion laughs" would otherwise expand without end), syntax and
///   duplicate-key errors with their line.
public enum ConfigText {
    public static let maxBytes = 4 << 20
    public static let maxDepth = 64
    public static let maxNodes = 2_000_000

    /// What is wrong, and where when a line is known.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var line: Int?
        public var message: String

        public init(line: Int? = nil, _ message: String) {
            self.line = line
            self.message = message
        }

        public var description: String { line.map { "line \($0): \(message)" } ?? message }
    }

    /// The bytes of a regular file, at most `maxBytes` of them.
    public static func bytes(of path: String, maxBytes: Int = maxBytes) throws(Problem) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw Problem("cannot read the file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Problem("cannot read the file: \(String(cString: strerror(errno)))") }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw Problem("is a directory, not a file")
        default: throw Problem("is not a regular file")
        }
        guard info.st_size <= maxBytes else { throw Problem("the file is \(info.st_size) bytes; at most \(maxBytes) are read") }
        var result = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var filled = 0
        while filled < result.count {
            let n = result.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw Problem("cannot read the file: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            filled += n
        }
        // One byte more than stat said: the file grew while it was read.
        guard filled <= maxBytes else { throw Problem("the file is more than \(maxBytes) bytes; at most \(maxBytes) are read") }
        result.removeLast(result.count - filled)
        return result
    }

    /// The text of a UTF-8 file (see `bytes(of:)`); a byte that is not UTF-8 is named by its line.
    public static func text(of path: String, maxBytes: Int = maxBytes) throws(Problem) -> String {
        try utf8(try bytes(of: path, maxBytes: maxBytes))
    }

    /// `bytes` as UTF-8, or the line of the first byte that is not.
    public static func utf8(_ bytes: [UInt8]) throws(Problem) -> String {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar):
                offset += scalar.count
            case .emptyInput:
                return String(decoding: bytes, as: UTF8.self)
            case .error:
                let line = bytes[..<offset].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
                let column = offset - (bytes[..<offset].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
                throw Problem(line: line, "column \(column): byte 0x\(String(bytes[offset], radix: 16, uppercase: true)) is not UTF-8 (save the file as UTF-8)")
            }
        }
    }

    /// Composes YAML text into its node, within the limits above.
    public static func compose(_ text: String) throws(Problem) -> Node? {
        guard text.utf8.count <= maxBytes else { throw Problem("the YAML is \(text.utf8.count) bytes; at most \(maxBytes) are read") }
        try checkFlowDepth(text)
        try checkComplexKeysWithAliases(text)
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw problem(error, in: text)
        } catch {
            throw Problem("YAML: \(error)")
        }
        if let node {
            var budget = maxNodes
            try count(node, depth: 0, budget: &budget)
        }
        return node
    }

    /// Flow collections (`[`, `{`) nested deeper than `maxDepth`. Brackets inside quotes and
    /// comments count too: a configuration has no reason to hold 64 open brackets.
    static func checkFlowDepth(_ text: String) throws(Problem) {
        var depth = 0
        var line = 1
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maxDepth { throw Problem(line: line, "YAML nested deeper than \(maxDepth) levels") }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            case 0x0A:
                line += 1
            default:
                break
            }
        }
    }

    /// With aliases in the text, a mapping key that is a list, a mapping, an alias or explicit (`?`)
    /// is refused before the YAML library sees it: it hashes every key whole while composing, so a
    /// key made of aliases of aliases would keep it busy for hours. Railgate's keys are plain words;
    /// without aliases a key is at most one line of 1024 characters (libyaml), cheap to hash.
    static func checkComplexKeysWithAliases(_ text: String) throws(Problem) {
        let lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false)
        func isAnchorCharacter(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte >= 0x80
        }
        func isTokenStart(_ line: [UInt8], _ index: Int) -> Bool {
            index == 0 || [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "["), UInt8(ascii: "{"),
                           UInt8(ascii: ","), UInt8(ascii: "?"), UInt8(ascii: ":"), UInt8(ascii: "-")].contains(line[index - 1])
        }
        /// A `:` that ends an implicit key: followed by a space, a tab, the end of the line or a flow indicator.
        func colonAfter(_ line: [UInt8], _ index: Int) -> Bool {
            var i = index
            while i < line.count, line[i] == UInt8(ascii: " ") || line[i] == UInt8(ascii: "\t") { i += 1 }
            guard i < line.count, line[i] == UInt8(ascii: ":") else { return false }
            return i + 1 == line.count || [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: ","), UInt8(ascii: "]"),
                                           UInt8(ascii: "}"), 0x0D].contains(line[i + 1])
        }
        var usesAliases = false
        for raw in lines where !usesAliases {
            let line = Array(raw)
            for index in line.indices where line[index] == UInt8(ascii: "*") && isTokenStart(line, index)
                && index + 1 < line.count && isAnchorCharacter(line[index + 1]) {
                usesAliases = true
            }
        }
        guard usesAliases else { return }
        for (number, raw) in lines.enumerated() {
            let line = Array(raw)
            // A whole-line comment holds no key.
            if line.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) == UInt8(ascii: "#") { continue }
            for index in line.indices {
                switch line[index] {
                case UInt8(ascii: "*") where isTokenStart(line, index):
                    var end = index + 1
                    while end < line.count, isAnchorCharacter(line[end]) { end += 1 }
                    if end > index + 1, colonAfter(line, end) {
                        throw Problem(line: number + 1, "an alias may not be a mapping key")
                    }
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    if colonAfter(line, index + 1) {
                        throw Problem(line: number + 1, "a list or mapping may not be a mapping key (this configuration uses aliases)")
                    }
                case UInt8(ascii: "?") where isTokenStart(line, index):
                    if index + 1 == line.count || line[index + 1] == UInt8(ascii: " ") || line[index + 1] == UInt8(ascii: "\t") {
                        throw Problem(line: number + 1, "explicit mapping keys (?) are not used in a configuration that uses aliases")
                    }
                default:
                    break
                }
            }
        }
    }

    /// Walks the composed tree (aliases are walked as often as they are used) within a budget.
    private static func count(_ node: Node, depth: Int, budget: inout Int) throws(Problem) {
        budget -= 1
        guard budget >= 0 else {
            throw Problem("the YAML expands to more than \(maxNodes) nodes (aliases of aliases?)")
        }
        guard depth <= maxDepth else { throw Problem(line: node.mark?.line, "YAML nested deeper than \(maxDepth) levels") }
        switch node {
        case .scalar, .alias:
            return
        case .mapping(let mapping):
            for (key, value) in mapping {
                try count(key, depth: depth + 1, budget: &budget)
                try count(value, depth: depth + 1, budget: &budget)
            }
        case .sequence(let sequence):
            for item in sequence { try count(item, depth: depth + 1, budget: &budget) }
        }
    }

    static func problem(_ error: YamlError, in text: String) -> Problem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return Problem(line: mark.line, "YAML syntax: \(problem)")
        case .reader(let problem, let offset, _, _):
            let line = offset.map { offset in text.utf8.prefix(offset).reduce(1) { $1 == 0x0A ? $0 + 1 : $0 } }
            return Problem(line: line, "YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? "?"
            let first = context.mark.line
            let again = lineOfRepeat(key, firstLine: first, column: context.mark.column, in: text)
            return Problem(line: again ?? first, "duplicate key \"\(key)\"" + (again != nil ? " (first at line \(first))" : ""))
        default:
            return Problem("YAML: \(error)")
        }
    }

    /// The line where `key`, first at `firstLine`:`column`, appears again as a key in the same mapping:
    /// at the same column further down (block style), or later on the same line (flow style).
    static func lineOfRepeat(_ key: String, firstLine: Int, column: Int, in text: String) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard firstLine >= 1, firstLine <= lines.count, column >= 1 else { return nil }
        let forms = [key + ":", "\"" + key + "\":", "'" + key + "':"]
        let sameLine = Array(lines[firstLine - 1].utf8)
        if sameLine.count > column {
            let rest = String(decoding: sameLine[column...], as: UTF8.self)
            if forms.contains(where: { rest.contains(", " + $0) || rest.contains(",\($0)") || rest.contains("{" + $0) }) {
                return firstLine
            }
        }
        for index in firstLine..<lines.count {
            let line = Array(lines[index].utf8)
            guard line.count >= column else { continue }
            let indent = line.prefix(column - 1)
            guard indent.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "-") }) else { continue }
            let rest = String(decoding: line[(column - 1)...], as: UTF8.self)
            if forms.contains(where: { rest.hasPrefix($0) }) { return index + 1 }
        }
        return nil
    }
}
