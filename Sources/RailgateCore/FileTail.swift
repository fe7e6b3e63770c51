import Glibc

/// Reading the end of a file that may be far larger than memory should hold
/// (the audit trail, a journal's log).
public enum FileTail {
    /// The last `count` lines of a file, read from its end in blocks: the file may be far larger
    /// than memory should hold. At most `maxBytes` are read (the oldest of the lines asked for
    /// are then left out); nil when the file cannot be read.
    public static func lastLines(of path: String, count: Int, maxBytes: Int = 16 << 20) -> [String]? {
        guard count > 0 else { return [] }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        guard size >= 0 else { return nil }
        var end = Int64(size)
        var chunks: [[UInt8]] = []
        var read = 0
        var newlines = 0
        let block: Int64 = 64 << 10
        // One more newline than lines: the first line of the window may be cut.
        while end > 0, read < maxBytes, newlines <= count {
            let start = end > block ? end - block : 0
            var chunk = [UInt8](repeating: 0, count: Int(end - start))
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
            guard n >= 0 else { return nil }
            if n == 0 { break }
            chunk.removeLast(chunk.count - n)
            newlines += chunk.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
            chunks.append(chunk)
            read += n
            end = start
        }
        var tail: [UInt8] = []
        tail.reserveCapacity(read)
        for chunk in chunks.reversed() { tail += chunk }
        var lines = tail.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        if end > 0, !lines.isEmpty { lines.removeFirst() }
        return lines.suffix(count).map { String(decoding: $0, as: UTF8.self) }
    }
}
