import Foundation
import Logging
import Testing
@testable import MQTTNorth
import RailgateCore

struct JournalTests {
    let directory: String

    init() {
        directory = NSTemporaryDirectory() + "journal-\(UUID().uuidString)"
    }

    func journal(maxBytes: Int = 1 << 20, segmentBytes: Int = 4096) throws -> Journal {
        try Journal(directory: directory, maxBytes: maxBytes, segmentBytes: segmentBytes, sync: .always,
                    logger: Logger(label: "test"))
    }

    func records(_ range: Range<Int>) -> [JournalRecord] {
        range.map { JournalRecord(path: "acme/m1/t\($0 % 3)", timestamp: Int64($0), value: SampleValue(int: Int64($0)),
                                  quality: $0 % 5 == 0 ? Quality(reason: .timeout) : .good,
                                  text: $0 % 7 == 0 ? "text \($0)" : nil) }
    }

    @Test func appendsAndReplaysInOrderAcrossSegmentsAndRestarts() throws {
        do {
            let j = try journal()
            try j.append(records(0..<300))
            let (first, end) = j.read(limit: 100)
            #expect(first == records(0..<100))
            j.commit(end, replayed: first.count)
        }
        // A restart continues at the persisted cursor.
        let reopened = try journal()
        let (rest, end) = reopened.read(limit: 1000)
        #expect(rest == records(100..<300))
        reopened.commit(end, replayed: rest.count)
        #expect(reopened.isEmpty)
        // Delivered segments are deleted, the current one stays.
        #expect(Journal.listSegments(directory).count == 1)
    }

    @Test func tornTailIsCutAtOpen() throws {
        do { try journal().append(records(0..<10)) }
        let segment = Journal.path(directory, Journal.listSegments(directory).last!)
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        handle.seekToEndOfFile()
        handle.write(Data([40, 0, 0, 0, 1, 2, 3, 4, 5]))  // a record header promising 40 bytes, then power loss
        try handle.close()
        let j = try journal()
        #expect(j.stats.corrupt == 1)
        let (all, _) = j.read(limit: 100)
        #expect(all == records(0..<10))
        try j.append(records(10..<12))
        #expect(j.read(limit: 100).records == records(0..<12))
    }

    @Test func damagedRecordIsSkippedAndTheRestReplayed() throws {
        do { try journal().append(records(0..<20)) }
        let segment = Journal.path(directory, Journal.listSegments(directory).last!)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: segment)))
        bytes[8 + 8 + 3] ^= 0xFF  // flip a byte inside the first record's body
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let j = try journal()
        let (replayed, _) = j.read(limit: 100)
        #expect(replayed == Array(records(0..<20).dropFirst()))
        #expect(j.stats.corrupt == 1)
    }

    @Test func boundedSizeDropsTheOldestAndCountsIt() throws {
        let j = try journal(maxBytes: 8192, segmentBytes: 2048)
        try j.append(records(0..<1000))
        #expect(j.sizeBytes <= 8192)
        #expect(j.stats.dropped > 0)
        let (left, _) = j.read(limit: 10_000)
        #expect(left.count + j.stats.dropped == 1000)
        #expect(left.last == records(999..<1000).first)
    }

    @Test func unwritableDirectoryIsAClearError() {
        #expect(throws: JournalError.self) {
            try Journal(directory: "/proc/railgate-journal", maxBytes: 1 << 20, segmentBytes: 4096, sync: .never,
                        logger: Logger(label: "test"))
        }
    }

    // MARK: JournalContents (railgate journal)

    @Test func contentsSplitDeliveredFromPendingAcrossSegments() throws {
        let j = try journal(segmentBytes: 2048)
        try j.append(records(0..<200))
        let (sent, end) = j.read(limit: 70)
        j.commit(end, replayed: sent.count)
        let contents = try JournalContents.read(directory: directory)
        #expect(contents.segments.count == Journal.listSegments(directory).count)
        #expect(contents.segments.count > 1)
        // Fully delivered segments are deleted; what is kept of the cursor's segment counts as delivered.
        #expect(contents.records.suffix(130) == records(70..<200)[...])
        #expect(Array(contents.pending) == records(70..<200))
        #expect(contents.records.count - contents.delivered == 130)
        #expect(contents.damage.isEmpty)
        #expect(contents.totalBytes == j.sizeBytes)
    }

    @Test func contentsAreReadWithoutChangingTheJournal() throws {
        do { try journal().append(records(0..<10)) }
        let segment = Journal.path(directory, Journal.listSegments(directory).last!)
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        handle.seekToEndOfFile()
        handle.write(Data([40, 0, 0, 0, 1, 2, 3, 4, 5]))  // the gateway is in the middle of writing a record
        try handle.close()
        let size = Journal.fileSize(segment)
        let contents = try JournalContents.read(directory: directory)
        #expect(Array(contents.pending) == records(0..<10))
        #expect(contents.damage.count == 1 && contents.damage[0].contains("damaged record length"))
        // A reader never cuts the tail nor writes a cursor: that is the gateway's business at its next start.
        #expect(Journal.fileSize(segment) == size)
        #expect(!FileManager.default.fileExists(atPath: directory + "/cursor"))
    }

    @Test func contentsOfAMissingDirectoryAreAClearError() {
        #expect(throws: JournalError.self) { try JournalContents.read(directory: directory + "/nowhere") }
    }

    /// A journal directory of `segment` (and `cursor`) as a crash left it: after start, what can
    /// be read is read and committed, and records appended then are read back, also after a restart.
    func expectNewRecordsReadBack(segment: [UInt8], cursor: [UInt8]? = nil) throws {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let cursor { _ = FileManager.default.createFile(atPath: "\(directory)/cursor", contents: Data(cursor)) }
        _ = FileManager.default.createFile(atPath: Journal.path(directory, 1), contents: Data(segment))
        let j = try journal()
        let (old, end) = j.read(limit: 100)
        j.commit(end, replayed: old.count)
        try j.append(records(0..<3))
        #expect(j.read(limit: 100).records == records(0..<3))
        let reopened = try journal()
        #expect(reopened.read(limit: 100).records == records(0..<3))
    }

    /// Found by scripts/fuzz (harness journal, Fuzz/regressions/journal/): a segment whose second
    /// record length is damaged. Records appended after it were never read back, since a reader
    /// skips the rest of a segment at a damaged length. Now a new segment takes them.
    @Test func recordsAppendedAfterADamagedSegmentAreReadBack() throws {
        let damaged: [UInt8] = [0x52, 0x47, 0x4a, 0x31, 0x01, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0xe1, 0xba, 0x57, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2f, 0x6d, 0x31, 0x2f, 0x73, 0x70, 0x65, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x61, 0x63, 0x6d, 0x65, 0x2f, 0x6d, 0x31, 0x2f, 0x73, 0x70, 0x65, 0x65, 0x64, 0x00, 0x22, 0x00, 0x00, 0x00, 0xd7, 0xeb, 0xd5, 0x0d, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x61, 0x63, 0x6d, 0x65, 0x2f, 0x6d, 0x31, 0x2f, 0x73, 0x70, 0x65, 0x65, 0x64, 0x00, 0x25, 0x00, 0x00, 0x00, 0xea, 0x3d, 0x75, 0x81, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x61, 0x63, 0x6d, 0x65, 0x2f, 0x6d, 0x31, 0x2f, 0x73, 0x70, 0x65, 0x65, 0x64, 0x01, 0x01, 0x00, 0x78]
        let shortHeader: [UInt8] = Array("RGJ".utf8)
        let badHeader: [UInt8] = Array("XXXX".utf8) + [1, 0, 0, 0] + Array(damaged.dropFirst(8))
        for segment in [damaged, shortHeader, badHeader] { try expectNewRecordsReadBack(segment: segment) }
    }

    /// Found by scripts/fuzz (harness journal): a cursor past the end of the journal — its segment
    /// lost its torn last record, or a power cut kept the cursor and not the records. Records
    /// appended after the end were never read. Now reading resumes at the end.
    @Test func aCursorPastTheEndDoesNotHideNewRecords() throws {
        let cursor: [UInt8] = [0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc4, 0x8e, 0x3b, 0x85]
        let segment: [UInt8] = [0x52, 0x47, 0x4a, 0x31, 0x01, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0xe1, 0xba, 0x57, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x61, 0x63, 0x6d, 0x65, 0x2f, 0x6d, 0x31, 0x2f, 0x73, 0x70, 0x65, 0x65, 0x64, 0x01, 0x01, 0x00, 0x78]
        try expectNewRecordsReadBack(segment: segment, cursor: cursor)
    }

    /// Found by scripts/fuzz (harness journal): a cursor inside a record (the segment's tail read
    /// back as zeros after a power cut: records of length 0). Reading took the middle of a record
    /// for a damaged length and skipped all that followed, new records too.
    @Test func aCursorInsideARecordMovesToTheNextOne() throws {
        let cursor: [UInt8] = [0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc4, 0x8e, 0x3b, 0x85]  // segment 1, offset 50
        let segment = Array("RGJ1".utf8) + [1, 0, 0, 0] + [UInt8](repeating: 0, count: 116)
        try expectNewRecordsReadBack(segment: segment, cursor: cursor)
    }
}
