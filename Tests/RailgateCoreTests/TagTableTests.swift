import Testing
@testable import RailgateCore

struct TagTableTests {
    /// Paths are found by a search over the tags sorted by path: each tag's own index, the first
    /// of two tags with one path, nil for a path no tag has.
    @Test func tagsAreFoundByPath() {
        let paths = ["l1/m2/b", "l1/m1/z", "l1/m1/a", "l2/x", "l1/m1/a", "a"]
        let table = TagTable(tags: paths.map { Tag(name: "t", device: "d", path: $0, dataType: .uint16) })
        #expect(table.index(ofPath: "l1/m2/b") == 0)
        #expect(table.index(ofPath: "l1/m1/z") == 1)
        #expect(table.index(ofPath: "l1/m1/a") == 2)
        #expect(table.index(ofPath: "l2/x") == 3)
        #expect(table.index(ofPath: "a") == 5)
        for missing in ["", "l1", "l1/m1", "l1/m1/b", "l3", "zzz", "0"] {
            #expect(table.index(ofPath: missing) == nil, "\(missing)")
        }
        #expect(TagTable(tags: []).index(ofPath: "a") == nil)
    }
}
