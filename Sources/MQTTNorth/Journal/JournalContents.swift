import Glibc

/// What a journal directory holds, read without changing anything: for
/// operators (`railgate journal`) while the gateway runs or after it stopped.
///
/// Unlike opening a `Journal`, reading contents never truncates a torn tail
/// nor moves the cursor: the newest record may be one the running gateway is
/// writing at that moment, and is then reported as torn and left out.
public struct JournalContents: Sendable {
    public struct Segment: Sendable, Equatable {
        public var number: UInt64
        public var path: String
        public var bytes: Int
    }

    /// Kept segments, oldest first.
    public var segments: [Segment] = []
    /// Every record still on disk, oldest first.
    public var records: [JournalRecord] = []
    /// How many of `records` the broker has acknowledged (they come first).
    public var delivered = 0
    /// Damaged or torn places, each with its segment.
    public var damage: [String] = []

    public var pending: ArraySlice<JournalRecord> { records[delivered...] }
    public var totalBytes: Int { segments.reduce(0) { $0 + $1.bytes } }

    /// Reads the journal in `directory`.
    /// - Throws: `JournalError` when the directory cannot be read.
    public static func read(directory: String) throws(JournalError) -> JournalContents {
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw JournalError(path: directory, message: String(cString: strerror(errno)))
        }
        guard access(directory, R_OK | X_OK) == 0 else {
            throw JournalError(path: directory, message: "not readable: \(String(cString: strerror(errno)))")
        }
        var contents = JournalContents()
        let numbers = Journal.listSegments(directory)
        let cursor = Journal.readCursor(directory, oldestSegment: numbers.first)
            ?? (numbers.first ?? 1, Journal.headerSize)
        for number in numbers {
            let path = Journal.path(directory, number)
            let bytes = Journal.readFile(path)
            contents.segments.append(Segment(number: number, path: path, bytes: bytes.count))
            guard bytes.count >= Journal.headerSize, Array(bytes[0..<4]) == Journal.magic else {
                contents.damage.append("\(path): segment header damaged; segment skipped")
                continue
            }
            // Records before the cursor were acknowledged; the rest wait.
            let split = number < cursor.segment ? bytes.count
                : number == cursor.segment ? min(max(cursor.offset, Journal.headerSize), bytes.count) : Journal.headerSize
            var damaged: [String] = []
            _ = Journal.scan(Array(bytes.prefix(split)), from: Journal.headerSize, limit: .max,
                             into: &contents.records) { damaged.append($0) }
            if number <= cursor.segment { contents.delivered = contents.records.count }
            _ = Journal.scan(bytes, from: split, limit: .max, into: &contents.records) { damaged.append($0) }
            contents.damage += damaged.map { "\(path): \($0)" }
        }
        return contents
    }
}
