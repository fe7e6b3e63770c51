import FoundationEssentials
import Testing
@testable import RailgateCore

struct HeapTests {
    /// `RssFile` of this process, in KiB.
    func residentFileKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssFile:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    /// The read-only file pages go, the process runs on: what it runs comes back from the page
    /// cache, and what was written in read-only mappings after loading (relocated pointers:
    /// witness tables, metadata, string constants) was left alone.
    @Test func readOnlyFilePagesAreGivenBackAndTheProcessRunsOn() throws {
        let before = try residentFileKiB()
        let released = try #require(Heap.releaseFilePages())
        #expect(released > 0)
        let after = try residentFileKiB()
        #expect(after < before, "RssFile \(before) → \(after) KiB")
        let text = (0..<1000).map { String($0) }.joined(separator: ",")
        #expect(text.split(separator: ",").map { Int($0) ?? -1 } == Array(0..<1000))
        let tags = [Tag(name: "a", device: "d", path: "x/d/a", dataType: .float32, unit: "V")]
        #expect(TagTable(tags: tags).tags == tags)
        #expect(Heap.releaseFilePages() != nil)
    }
}
