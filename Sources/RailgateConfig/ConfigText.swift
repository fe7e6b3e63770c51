import Glibc
import RailgateYAML

/// Reading configuration files and composing their YAML within limits: a
/// file comes from a technician's editor, a console `load`, or an upgrade,
/// and none of them may stop the gateway or the console that reads it.
///
/// - files: at most `maxBytes`, regular files only, UTF-8 where the format
///   says so (the first bad byte is named by line);
/// - YAML: nesting at most `maxDepth` deep, aliases expanding to at most
///   `maxNodes` nodes (a 2 KB "billion laughs" would otherwise expand without
///   end), keys single values, syntax and duplicate-key errors with their line
///   (`YAML.compose`).
public enum ConfigText {
    public static let maxBytes = 4 << 20
    public static let maxDepth = 64
    public static let maxNodes = 2_000_000

    /// What is wrong, and where when a line is known.
    public typealias Problem = YAML.Problem

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
        return try YAML.compose(text, maxDepth: maxDepth, maxNodes: maxNodes)
    }
}
