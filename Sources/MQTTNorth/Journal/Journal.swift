import Glibc
import Logging
import RailgateCore

/// When the journal forces its writes to disk.
public enum JournalSync: Sendable, Equatable {
    /// fsync after every append: nothing acknowledged to the engine is lost on power loss.
    case always
    /// fsync at most every `ms` milliseconds.
    case interval(ms: Int)
    /// Leave it to the kernel (survives a crash of Railgate, not of the machine).
    case never
}

/// Why the journal cannot be used.
public struct JournalError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "journal \(path): \(message)" }
}

/// Counters of the journal.
public struct JournalStats: Sendable, Equatable {
    public var appended = 0
    public var replayed = 0
    /// Records deleted unsent because the journal reached its size bound.
    public var dropped = 0
    /// Records or segment tails found damaged (bad checksum, torn write) and skipped.
    public var corrupt = 0
}

/// Store-and-forward journal: append-only segment files of checksummed
/// records, read in order from a persisted cursor.
///
/// Segment: 8-byte header (`RGJ1`, version u16, reserved u16), then records
/// of `[length u32][crc32 u32][body]`. The cursor file names the segment and
/// offset of the first record not yet acknowledged by the broker; it is
/// replaced atomically (write, fsync, rename). Bounded: when the segments
/// exceed `maxBytes`, the oldest are deleted and their unsent records counted
/// as dropped. A torn last record (power loss mid-write) is cut off at start.
///
/// Confinement: used by one thread (the MQTT publishing thread).
public final class Journal {
    public let directory: String
    public let maxBytes: Int
    public let segmentBytes: Int
    public let sync: JournalSync
    public private(set) var stats = JournalStats()
    private let logger: Logger

    static let magic: [UInt8] = Array("RGJ1".utf8)
    static let version: UInt16 = 1
    static let headerSize = 8
    /// A record body larger than this is taken for a damaged length.
    static let maxRecord = 1 << 20

    /// Segment numbers on disk, oldest first, with their sizes.
    private var segments: [(number: UInt64, size: Int)] = []
    private var writeFD: Int32 = -1
    private var cursor: (segment: UInt64, offset: Int)
    private var lastSync: Int64 = 0
    private var dirty = false

    public init(directory: String, maxBytes: Int, segmentBytes: Int, sync: JournalSync, logger: Logger) throws(JournalError) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.segmentBytes = segmentBytes
        self.sync = sync
        self.logger = logger
        cursor = (0, 0)
        if mkdir(directory, 0o750) != 0 && errno != EEXIST {
            throw JournalError(path: directory, message: String(cString: strerror(errno)))
        }
        guard access(directory, W_OK) == 0 else {
            throw JournalError(path: directory, message: "not writable: \(String(cString: strerror(errno)))")
        }
        segments = Self.listSegments(directory).map { ($0, Self.fileSize(Self.path(directory, $0))) }
        cursor = loadCursor() ?? (segments.first?.number ?? 1, Self.headerSize)
        try openForAppend()
        alignCursor()
        // A cursor past the end: records it counted as sent were lost with a power cut (the cursor
        // reached the disk, they did not), or a torn tail was cut off. Records appended from now on
        // go after the end, so reading resumes there; else they would never be read.
        if let last = segments.last,
           cursor.segment > last.number || (cursor.segment == last.number && cursor.offset > last.size) {
            logger.warning("journal: the cursor points past the end of the journal; reading resumes at its end",
                           metadata: ["cursor": "\(cursor.segment):\(cursor.offset)", "end": "\(last.number):\(last.size)"])
            stats.corrupt += 1
            cursor = (last.number, last.size)
            saveCursor()
        }
    }

    deinit {
        if writeFD >= 0 {
            if dirty { fsync(writeFD) }
            close(writeFD)
        }
    }

    /// No record waits to be sent.
    public var isEmpty: Bool {
        guard let last = segments.last else { return true }
        return cursor.segment > last.number || (cursor.segment == last.number && cursor.offset >= last.size)
    }

    public var sizeBytes: Int { segments.reduce(0) { $0 + $1.size } }

    // MARK: Writing

    /// Appends records in order, rotating segments and enforcing the bound.
    public func append(_ records: [JournalRecord]) throws(JournalError) {
        guard !records.isEmpty else { return }
        var buffer: [UInt8] = []
        for record in records {
            let body = record.encoded
            if let last = segments.last, last.size + buffer.count + body.count + 8 > segmentBytes,
               last.size + buffer.count > Self.headerSize {
                try write(buffer)
                buffer.removeAll(keepingCapacity: true)
                try rotate()
            }
            LittleEndian.append(UInt32(body.count), to: &buffer)
            LittleEndian.append(CRC32.checksum(body), to: &buffer)
            buffer += body
        }
        try write(buffer)
        stats.appended += records.count
        enforceBound()
        syncIfDue()
    }

    private func write(_ bytes: [UInt8]) throws(JournalError) {
        guard !bytes.isEmpty else { return }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(writeFD, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw JournalError(path: Self.path(directory, segments.last?.number ?? 0),
                                   message: "write failed: \(String(cString: strerror(errno)))")
            }
            written += n
        }
        segments[segments.count - 1].size += bytes.count
        dirty = true
    }

    private func syncIfDue() {
        switch sync {
        case .always:
            fsync(writeFD)
            dirty = false
        case .interval(let ms):
            let now = RailgateCore.Clock.monotonicNs()
            if now - lastSync >= Int64(ms) * 1_000_000 {
                fsync(writeFD)
                lastSync = now
                dirty = false
            }
        case .never:
            break
        }
    }

    /// Forces pending writes to disk (at stop).
    public func flush() {
        if dirty && writeFD >= 0 { fsync(writeFD) }
        dirty = false
    }

    private func openForAppend() throws(JournalError) {
        guard let last = segments.last else { return try rotate() }
        let path = Self.path(directory, last.number)
        guard let valid = appendableLength(last.number) else {
            // A damaged header or record length: a reader skips the rest of this segment, so
            // records appended to it would never be sent. It stays for what can be read from it.
            logger.warning("journal: the last segment is damaged; a new one is started", metadata: ["segment": "\(path)"])
            stats.corrupt += 1
            return try rotate()
        }
        if valid < last.size {
            logger.warning("journal: torn record at the end of a segment cut off",
                           metadata: ["segment": "\(path)", "bytes": "\(last.size - valid)"])
            stats.corrupt += 1
            truncate(path, off_t(valid))
            segments[segments.count - 1].size = valid
        }
        writeFD = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard writeFD >= 0 else {
            throw JournalError(path: path, message: String(cString: strerror(errno)))
        }
        if valid < Self.headerSize { try writeHeader() }
    }

    private func rotate() throws(JournalError) {
        if writeFD >= 0 {
            fsync(writeFD)
            close(writeFD)
        }
        let number = (segments.last?.number ?? 0) + 1
        let path = Self.path(directory, number)
        writeFD = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard writeFD >= 0 else { throw JournalError(path: path, message: String(cString: strerror(errno))) }
        segments.append((number, 0))
        try writeHeader()
    }

    private func writeHeader() throws(JournalError) {
        var header = Self.magic
        LittleEndian.append(Self.version, to: &header)
        LittleEndian.append(UInt16(0), to: &header)
        try write(header)
    }

    /// Deletes the oldest segments while over the bound (never the one being written).
    private func enforceBound() {
        while sizeBytes > maxBytes, segments.count > 1 {
            let oldest = segments.removeFirst()
            let from = cursor.segment == oldest.number ? cursor.offset : (cursor.segment < oldest.number ? Self.headerSize : oldest.size)
            let lost = oldest.number >= cursor.segment ? countRecords(oldest.number, from: from) : 0
            unlink(Self.path(directory, oldest.number))
            if lost > 0 {
                stats.dropped += lost
                logger.warning("journal full: oldest segment dropped", metadata: [
                    "records": "\(lost)", "maxBytes": "\(maxBytes)"])
            }
            if cursor.segment <= oldest.number, let next = segments.first {
                cursor = (next.number, Self.headerSize)
                saveCursor()
            }
        }
    }

    // MARK: Reading

    /// Where a read batch ends: pass it to `commit` once the broker has it.
    public struct Position: Sendable, Equatable {
        var segment: UInt64
        var offset: Int
    }

    /// The position after the last appended record.
    public var endPosition: Position {
        Position(segment: segments.last?.number ?? cursor.segment, offset: segments.last?.size ?? cursor.offset)
    }

    /// Up to `limit` records from the cursor, and the position after them.
    /// Damaged records are skipped, counted and reported.
    public func read(limit: Int) -> (records: [JournalRecord], end: Position) {
        var records: [JournalRecord] = []
        var position = Position(segment: cursor.segment, offset: cursor.offset)
        for segment in segments where segment.number >= position.segment {
            if segment.number > position.segment { position = Position(segment: segment.number, offset: Self.headerSize) }
            let bytes = Self.readFile(Self.path(directory, segment.number))
            guard bytes.count >= Self.headerSize, Array(bytes[0..<4]) == Self.magic else {
                report("segment header damaged; segment skipped", segment: segment.number)
                position = Position(segment: segment.number, offset: segment.size)
                continue
            }
            let offset = Self.scan(bytes, from: position.offset, limit: limit, into: &records) { what in
                report(what, segment: segment.number)
            }
            position = Position(segment: segment.number, offset: offset)
            if records.count >= limit { break }
        }
        return (records, position)
    }

    /// Decodes the records of one segment's bytes from `offset` (at least
    /// the header's end) into `records` until `limit` records are there.
    /// A damaged record is skipped, a torn or damaged length ends the
    /// segment; each is reported through `damaged`. Returns the offset
    /// after the last record read (the segment's end when it was read through).
    static func scan(_ bytes: [UInt8], from offset: Int, limit: Int, into records: inout [JournalRecord],
                     damaged: (String) -> Void) -> Int {
        var offset = max(offset, headerSize)
        while offset < bytes.count && records.count < limit {
            guard bytes.count - offset >= 8 else {
                damaged("torn record; rest of segment skipped")
                return bytes.count
            }
            let length = Int(LittleEndian.read(UInt32.self, bytes, at: offset))
            let crc = LittleEndian.read(UInt32.self, bytes, at: offset + 4)
            guard length <= maxRecord, bytes.count - offset - 8 >= length else {
                damaged("damaged record length; rest of segment skipped")
                return bytes.count
            }
            let body = bytes[(offset + 8)..<(offset + 8 + length)]
            offset += 8 + length
            guard CRC32.checksum(body) == crc, let record = JournalRecord(decoding: body) else {
                damaged("record checksum mismatch; record skipped")
                continue
            }
            records.append(record)
        }
        return offset
    }

    /// Marks everything before `position` as delivered; deletes segments
    /// that are fully delivered (except the one being written).
    public func commit(_ position: Position, replayed: Int) {
        cursor = (position.segment, position.offset)
        stats.replayed += replayed
        while segments.count > 1, let first = segments.first,
              first.number < cursor.segment || (first.number == cursor.segment && cursor.offset >= first.size) {
            unlink(Self.path(directory, first.number))
            segments.removeFirst()
            if cursor.segment <= first.number, let next = segments.first { cursor = (next.number, Self.headerSize) }
        }
        saveCursor()
    }

    private func report(_ what: String, segment: UInt64) {
        stats.corrupt += 1
        logger.error("journal: \(what)", metadata: ["segment": "\(Self.path(directory, segment))"])
    }

    /// Follows the records of a segment's bytes by their lengths from `offset` while it is below
    /// `limit`: where it stopped, how many whole records it passed, and whether it stopped at a
    /// damaged length (one no record has). It also stops before a torn record (cut short by a
    /// crash). Checksums are left for `read` to check and report.
    static func walk(_ bytes: [UInt8], from offset: Int = headerSize, upTo limit: Int = .max)
        -> (offset: Int, records: Int, damaged: Bool) {
        var offset = offset
        var records = 0
        while offset < limit && bytes.count - offset >= 8 {
            let length = Int(LittleEndian.read(UInt32.self, bytes, at: offset))
            if length > maxRecord { return (offset, records, true) }
            if bytes.count - offset - 8 < length { break }
            offset += 8 + length
            records += 1
        }
        return (offset, records, false)
    }

    /// Moves a cursor that is not at a record boundary of its segment to the next one. Saved
    /// cursors are at boundaries; one is not when the segment's contents changed under it (a
    /// power cut can leave a file's last blocks zeroed), and reading from there would take the
    /// middle of a record for a damaged length and skip everything after it, new records too.
    private func alignCursor() {
        guard segments.contains(where: { $0.number == cursor.segment }) else { return }
        let bytes = Self.readFile(Self.path(directory, cursor.segment))
        guard bytes.count >= Self.headerSize, Array(bytes[0..<4]) == Self.magic else { return }
        // Stopped short of the cursor (damage, a torn record, the end): nothing to move.
        let offset = Self.walk(bytes, upTo: cursor.offset).offset
        guard offset > cursor.offset else { return }
        logger.warning("journal: the cursor is not at a record boundary; it moves to the next record",
                       metadata: ["cursor": "\(cursor.segment):\(cursor.offset)", "next": "\(cursor.segment):\(offset)"])
        stats.corrupt += 1
        cursor.offset = offset
        saveCursor()
    }

    /// The length up to the end of the last whole record of segment `number` (a torn record after
    /// it is cut off); nil when records appended to it could not be read back: its header or a
    /// record length is damaged, and reading stops there.
    private func appendableLength(_ number: UInt64) -> Int? {
        let bytes = Self.readFile(Self.path(directory, number))
        if bytes.count < Self.headerSize { return 0 }
        guard Array(bytes[0..<4]) == Self.magic else { return nil }
        let walked = Self.walk(bytes)
        return walked.damaged ? nil : walked.offset
    }

    private func countRecords(_ number: UInt64, from: Int) -> Int {
        Self.walk(Self.readFile(Self.path(directory, number)), from: max(from, Self.headerSize)).records
    }

    // MARK: Cursor

    private var cursorPath: String { "\(directory)/cursor" }

    private func loadCursor() -> (UInt64, Int)? {
        Self.readCursor(directory, oldestSegment: segments.first?.number)
    }

    /// The persisted cursor, nil when missing or damaged. A cursor pointing
    /// before the oldest segment starts at the oldest one.
    static func readCursor(_ directory: String, oldestSegment: UInt64?) -> (segment: UInt64, offset: Int)? {
        let bytes = readFile("\(directory)/cursor")
        guard bytes.count == 20, CRC32.checksum(bytes[0..<16]) == LittleEndian.read(UInt32.self, bytes, at: 16) else { return nil }
        let segment = UInt64(LittleEndian.read(UInt32.self, bytes, at: 0)) | UInt64(LittleEndian.read(UInt32.self, bytes, at: 4)) << 32
        let offset = Int(LittleEndian.read(UInt32.self, bytes, at: 8)) | Int(LittleEndian.read(UInt32.self, bytes, at: 12)) << 32
        if let oldestSegment, segment < oldestSegment { return (oldestSegment, headerSize) }
        return (segment, offset)
    }

    private func saveCursor() {
        var bytes: [UInt8] = []
        LittleEndian.append(UInt32(truncatingIfNeeded: cursor.segment), to: &bytes)
        LittleEndian.append(UInt32(truncatingIfNeeded: cursor.segment >> 32), to: &bytes)
        LittleEndian.append(UInt32(truncatingIfNeeded: cursor.offset), to: &bytes)
        LittleEndian.append(UInt32(truncatingIfNeeded: cursor.offset >> 32), to: &bytes)
        LittleEndian.append(CRC32.checksum(bytes), to: &bytes)
        let temporary = cursorPath + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return }
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if sync != .never { fsync(fd) }
        close(fd)
        rename(temporary, cursorPath)
    }

    // MARK: Files

    static func path(_ directory: String, _ number: UInt64) -> String {
        let digits = String(number)
        return "\(directory)/segment-\(String(repeating: "0", count: max(0, 12 - digits.count)))\(digits).rgj"
    }

    static func listSegments(_ directory: String) -> [UInt64] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var numbers: [UInt64] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name.hasPrefix("segment-"), name.hasSuffix(".rgj"),
               let number = UInt64(name.dropFirst(8).dropLast(4)) {
                numbers.append(number)
            }
        }
        return numbers.sorted()
    }

    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    static func readFile(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        let size = fileSize(path)
        var bytes = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, size - got, off_t(got)) }
            if n <= 0 { break }
            got += n
        }
        return Array(bytes[0..<got])
    }
}
