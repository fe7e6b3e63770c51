import Glibc
import Testing
@testable import RailgateCore

struct HeapTests {
    /// `RssFile` of this process, in KiB.
    func residentFileKiB() throws -> Int {
        let status = try #require(readText("/proc/self/status"))
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssFile:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
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
