import Foundation

/// Reading the end of a file that may be far larger than memory should hold
/// (the audit trail, a journal's log).
public enum FileTail {
    /// The last `count` lines of a file, read from its end in blocks: the file may be far larger
    /// than memory should hold. At most `maxBytes` are read (the oldest of the lines asked for
    /// are then left out); nil when the file cannot be read.
    public static func lastLines(of path: String, count: Int, maxBytes: Int = 16 << 20) -> [String]? {
        guard count > 0 else { return [] }
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return nil }
        var end = size
        var chunks: [Data] = []
        var read = 0
        var newlines = 0
        let block: UInt64 = 64 << 10
        // One more newline than lines: the first line of the window may be cut.
        while end > 0, read < maxBytes, newlines <= count {
            let start = end > block ? end - block : 0
            do {
                try handle.seek(toOffset: start)
                guard let chunk = try handle.read(upToCount: Int(end - start)), !chunk.isEmpty else { break }
                newlines += chunk.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
                chunks.append(chunk)
                read += chunk.count
            } catch {
                return nil
            }
            end = start
        }
        let tail = chunks.reversed().reduce(into: Data(capacity: read)) { $0.append($1) }
        var lines = tail.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        if end > 0, !lines.isEmpty { lines.removeFirst() }
        return lines.suffix(count).map { String(decoding: $0, as: UTF8.self) }
    }
}
