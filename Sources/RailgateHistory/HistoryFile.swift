import Glibc
import Logging
import RailgateConfig
import RailgateCore
import Synchronization

/// One stored value of a tag's history.
public struct HistoryRecord: Sendable, Equatable {
    /// 1, 2, 3, … in the order the values were stored; never reused.
    public var seq: UInt64
    /// When the device's answer arrived (the sample's timestamp).
    public var sourceNs: Int64
    /// When Railgate stored it.
    public var serverNs: Int64
    public var value: SampleValue
    public var quality: Quality
    /// How `value` reads (the tag's kind when it was stored).
    public var kind: ValueKind

    public init(seq: UInt64, sourceNs: Int64, serverNs: Int64, value: SampleValue, quality: Quality, kind: ValueKind) {
        self.seq = seq
        self.sourceNs = sourceNs
        self.serverNs = serverNs
        self.value = value
        self.quality = quality
        self.kind = kind
    }
}

/// Why a history file cannot be used.
public struct HistoryError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "history \(path): \(message)" }
}

/// One tag's history: a file holding a ring of fixed-size records, so that it never grows past
/// `HistoryConfig.fileBytes(values: capacity)` and any stored value is found by its sequence
/// number without an index: value `seq` lives in slot `(seq − 1) mod capacity`.
///
/// Header (64 bytes): `RGH1`, version u16, record size u16, capacity u64, checkpoint u64 (the
/// newest value known to be on disk), CRC-32 of the 24 bytes before it. Record (40 bytes): seq
/// u64, source ns i64, server ns i64, value u64, reason u8, detail u8, kind u8, 0, CRC-32 of the
/// 36 bytes before it. Little-endian.
///
/// Crash safety: values are written in sequence order; at each sync the file is fdatasync'ed,
/// then the header's checkpoint is advanced. At open the values after the checkpoint are taken
/// as long as they follow on in sequence with good checksums; a torn or missing one ends the
/// history there. A reader checks each record's checksum and sequence number, so a record
/// being overwritten while it is read is skipped, never served wrong.
///
/// Confinement: `append` and `sync` on one thread (the recorder); reads on any thread.
final class HistoryFile: @unchecked Sendable {
    private(set) var path: String
    let capacity: UInt64
    private let fd: Int32
    /// The newest sequence number written; 0 while empty.
    private let newestSeq: Atomic<UInt64>
    private var checkpoint: UInt64
    private var unsynced = false
    /// Writes that failed (disk full, I/O error): those values are not in the history. Read by
    /// `show status` from another thread.
    let failedWrites = Atomic<Int>(0)

    static let magic: [UInt8] = Array("RGH1".utf8)
    static let version: UInt16 = 1
    static let headerBytes = HistoryConfig.headerBytes
    static let recordBytes = HistoryConfig.recordBytes
    /// Sequence numbers stay below this (146 000 years at a million values a second), so that
    /// arithmetic on them has room and a damaged header cannot claim more.
    static let maxSeq: UInt64 = 1 << 62

    private init(path: String, fd: Int32, capacity: UInt64, checkpoint: UInt64, newest: UInt64) {
        self.path = path
        self.fd = fd
        self.capacity = capacity
        self.checkpoint = checkpoint
        newestSeq = Atomic(newest)
    }

    deinit { close(fd) }

    /// Opens (or creates) the file of a tag with room for `capacity` values. A file made with
    /// another capacity keeps its newest values in one of the new size; a damaged header sets the
    /// file aside (renamed `….damaged-<time>`, never deleted) and starts a new one.
    static func open(path: String, capacity: Int, logger: Logger) throws(HistoryError) -> HistoryFile {
        let wanted = UInt64(max(2, capacity))
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw HistoryError(path: path, message: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw HistoryError(path: path, message: message)
        }
        if info.st_size == 0 { return try create(path: path, fd: fd, capacity: wanted) }
        guard let header = readHeader(fd) else {
            close(fd)
            let aside = "\(path).damaged-\(Clock.realtimeNs() / 1_000_000_000)"
            logger.warning("history file has no valid header; set aside, a new history starts",
                           metadata: ["file": "\(path)", "kept_as": "\(aside)"])
            guard rename(path, aside) == 0 else {
                throw HistoryError(path: path, message: "damaged header, and cannot be set aside: \(String(cString: strerror(errno)))")
            }
            return try open(path: path, capacity: capacity, logger: logger)
        }
        let expected = off_t(fileBytes(header.capacity))
        if info.st_size < expected && ftruncate(fd, expected) != 0 {
            let message = String(cString: strerror(errno))
            close(fd)
            throw HistoryError(path: path, message: message)
        }
        let newest = recover(fd, capacity: header.capacity, checkpoint: header.checkpoint)
        let file = HistoryFile(path: path, fd: fd, capacity: header.capacity, checkpoint: header.checkpoint, newest: newest)
        guard header.capacity != wanted else { return file }
        logger.notice("history file resized", metadata: [
            "file": "\(path)", "from_values": "\(header.capacity)", "to_values": "\(wanted)"])
        return try file.resized(to: wanted, logger: logger)
    }

    private static func fileBytes(_ capacity: UInt64) -> Int {
        headerBytes + Int(capacity) * recordBytes
    }

    private static func create(path: String, fd: Int32, capacity: UInt64) throws(HistoryError) -> HistoryFile {
        let file = HistoryFile(path: path, fd: fd, capacity: capacity, checkpoint: 0, newest: 0)
        guard ftruncate(fd, off_t(fileBytes(capacity))) == 0, file.writeHeader(), fsync(fd) == 0 else {
            throw HistoryError(path: path, message: String(cString: strerror(errno)))
        }
        HistoryFile.syncDirectory(of: path)
        return file
    }

    /// The newest values of this file, written into a new file of `capacity` that replaces it.
    private func resized(to capacity: UInt64, logger: Logger) throws(HistoryError) -> HistoryFile {
        let temporary = path + ".resize"
        unlink(temporary)
        let fd = Glibc.open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw HistoryError(path: temporary, message: String(cString: strerror(errno))) }
        let next = try HistoryFile.create(path: temporary, fd: fd, capacity: capacity)
        let (oldest, newest) = window
        if newest > 0 {
            // Sequence numbers carry over: the new file places each by its own capacity.
            var seq = max(oldest, newest >= capacity ? newest - capacity + 1 : 1)
            var batch: [HistoryRecord] = []
            while seq <= newest {
                let count = Int(min(newest - seq + 1, 4096))
                batch.removeAll(keepingCapacity: true)
                records(from: seq, count: count, into: &batch)
                for record in batch where !next.write(record) {
                    throw HistoryError(path: temporary, message: "cannot resize: \(String(cString: strerror(errno)))")
                }
                seq += UInt64(count)
            }
        }
        next.newestSeq.store(newest, ordering: .relaxed)
        next.checkpoint = newest
        guard fsync(next.fd) == 0, next.writeHeader(), fsync(next.fd) == 0, rename(temporary, path) == 0 else {
            throw HistoryError(path: path, message: "cannot resize: \(String(cString: strerror(errno)))")
        }
        HistoryFile.syncDirectory(of: path)
        next.path = path
        return next
    }

    // MARK: Header

    private static func readHeader(_ fd: Int32) -> (capacity: UInt64, checkpoint: UInt64)? {
        var bytes = [UInt8](repeating: 0, count: headerBytes)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, headerBytes, 0) }
        guard n == headerBytes, Array(bytes[0..<4]) == magic, LittleEndian.read(UInt16.self, bytes, at: 4) == version,
              LittleEndian.read(UInt16.self, bytes, at: 6) == UInt16(recordBytes), LittleEndian.read(UInt32.self, bytes, at: 24) == CRC32.checksum(bytes[0..<24]) else { return nil }
        let capacity = LittleEndian.read(UInt64.self, bytes, at: 8), checkpoint = LittleEndian.read(UInt64.self, bytes, at: 16)
        guard (2...100_000_000).contains(capacity), checkpoint < maxSeq else { return nil }
        return (capacity, checkpoint)
    }

    private func writeHeader() -> Bool {
        var bytes = [UInt8](repeating: 0, count: Self.headerBytes)
        bytes.replaceSubrange(0..<4, with: Self.magic)
        LittleEndian.write(Self.version, into: &bytes, at: 4)
        LittleEndian.write(UInt16(Self.recordBytes), into: &bytes, at: 6)
        LittleEndian.write(capacity, into: &bytes, at: 8)
        LittleEndian.write(checkpoint, into: &bytes, at: 16)
        LittleEndian.write(CRC32.checksum(bytes[0..<24]), into: &bytes, at: 24)
        return bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, Self.headerBytes, 0) } == Self.headerBytes
    }

    /// The newest value on disk: from the checkpoint on, as long as the values follow on.
    private static func recover(_ fd: Int32, capacity: UInt64, checkpoint: UInt64) -> UInt64 {
        var newest = checkpoint
        var steps: UInt64 = 0
        while steps < capacity, let record = read(fd, capacity: capacity, seq: newest &+ 1), record.seq == newest &+ 1 {
            newest += 1
            steps += 1
        }
        return newest
    }

    // MARK: Writing (the recorder thread)

    /// Stores a value as the next in sequence; its `seq` is replaced by that number.
    func append(_ value: HistoryRecord) {
        var record = value
        record.seq = newestSeq.load(ordering: .relaxed) + 1
        guard record.seq < Self.maxSeq, write(record) else {
            failedWrites.wrappingAdd(1, ordering: .relaxed)
            return
        }
        unsynced = true
        newestSeq.store(record.seq, ordering: .releasing)
    }

    /// Writes a record in its sequence number's slot.
    private func write(_ record: HistoryRecord) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: Self.recordBytes, alignment: 8) { buffer in
            Self.encode(record, into: buffer)
            return pwrite(fd, buffer.baseAddress, Self.recordBytes, offset(record.seq)) == Self.recordBytes
        }
    }

    /// Forces written values to disk, then moves the checkpoint to them.
    func sync() {
        guard unsynced else { return }
        unsynced = false
        guard fdatasync(fd) == 0 else { failedWrites.wrappingAdd(1, ordering: .relaxed); return }
        checkpoint = newestSeq.load(ordering: .relaxed)
        _ = writeHeader()
    }

    private func offset(_ seq: UInt64) -> off_t {
        off_t(Self.headerBytes + Int((seq - 1) % capacity) * Self.recordBytes)
    }

    private static func encode(_ record: HistoryRecord, into buffer: UnsafeMutableRawBufferPointer) {
        buffer.storeBytes(of: record.seq.littleEndian, toByteOffset: 0, as: UInt64.self)
        buffer.storeBytes(of: record.sourceNs.littleEndian, toByteOffset: 8, as: Int64.self)
        buffer.storeBytes(of: record.serverNs.littleEndian, toByteOffset: 16, as: Int64.self)
        buffer.storeBytes(of: record.value.bits.littleEndian, toByteOffset: 24, as: UInt64.self)
        buffer[32] = record.quality.reason.rawValue
        buffer[33] = record.quality.detail
        buffer[34] = record.kind.rawValue
        buffer[35] = 0
        let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<36]))
        buffer.storeBytes(of: crc.littleEndian, toByteOffset: 36, as: UInt32.self)
    }

    /// A record from its 40 bytes, if its checksum and fields are sound.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> HistoryRecord? {
        guard bytes.count >= recordBytes else { return nil }
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 36, as: UInt32.self))
        guard crc == CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<36])),
              let reason = BadReason(rawValue: bytes[32]), let kind = ValueKind(rawValue: bytes[34]) else { return nil }
        let seq = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard seq > 0 else { return nil }
        return HistoryRecord(
            seq: seq, sourceNs: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self)),
            serverNs: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: Int64.self)),
            value: SampleValue(bits: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))),
            quality: Quality(reason: reason, detail: bytes[33]), kind: kind)
    }

    // MARK: Reading (any thread)

    /// Oldest and newest sequence numbers the ring can hold now; (1, 0) while empty.
    var window: (oldest: UInt64, newest: UInt64) {
        let newest = newestSeq.load(ordering: .acquiring)
        return (newest > capacity ? newest - capacity + 1 : 1, newest)
    }

    /// The value `seq`, if it is on disk and sound (not overwritten, not torn).
    func record(_ seq: UInt64) -> HistoryRecord? {
        guard seq > 0 else { return nil }
        let record = Self.read(fd, capacity: capacity, seq: seq)
        return record?.seq == seq ? record : nil
    }

    private static func read(_ fd: Int32, capacity: UInt64, seq: UInt64) -> HistoryRecord? {
        guard seq > 0 else { return nil }
        return withUnsafeTemporaryAllocation(byteCount: recordBytes, alignment: 8) { buffer in
            let at = off_t(headerBytes + Int((seq - 1) % capacity) * recordBytes)
            guard pread(fd, buffer.baseAddress, recordBytes, at) == recordBytes else { return nil }
            return decode(UnsafeRawBufferPointer(buffer))
        }
    }

    /// The sound values among `count` consecutive sequence numbers from `first`, in order, read
    /// in runs of contiguous slots.
    func records(from first: UInt64, count: Int, into result: inout [HistoryRecord]) {
        guard first > 0, count > 0 else { return }
        var seq = first
        var left = UInt64(count)
        let run = 512
        var buffer = [UInt8](repeating: 0, count: run * Self.recordBytes)
        while left > 0 {
            let slot = (seq - 1) % capacity
            let n = Int(min(left, UInt64(run), capacity - slot))
            let got = buffer.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress, n * Self.recordBytes, off_t(Self.headerBytes + Int(slot) * Self.recordBytes))
            }
            let whole = max(0, got) / Self.recordBytes
            buffer.withUnsafeBytes { bytes in
                for index in 0..<whole {
                    let start = index * Self.recordBytes
                    if let record = Self.decode(UnsafeRawBufferPointer(rebasing: bytes[start..<start + Self.recordBytes])),
                       record.seq == seq + UInt64(index) {
                        result.append(record)
                    }
                }
            }
            if whole < n { return }
            seq += UInt64(n)
            left -= UInt64(n)
        }
    }

    static func syncDirectory(of path: String) {
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let fd = Glibc.open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
