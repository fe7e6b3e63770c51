/// Where the tags of each south thread (a Modbus bus, a PROFIBUS line) sit
/// among the gateway's tags. South threads number their own tags from 0;
/// the engine adds `bases`, the write router passes `localIndices`.
public struct SouthLayout<Thread: TagWriteTarget> {
    public let threads: [Thread]
    /// Gateway index of each thread's first tag.
    public let bases: [Int]
    /// The thread that owns each gateway tag, and the tag's index within it.
    public let writeTargets: [(any TagWriteTarget)?]
    public let localIndices: [Int]

    /// - Parameters:
    ///   - firstTag: gateway index of the first tag of the first item.
    ///   - tagCount: how many tags an item has.
    ///   - reuse: a running thread that serves an item with these tags unchanged, if any.
    ///   - make: a new thread for an item and its tags.
    public init<Item>(_ items: [Item], firstTag: Int, tags: [Tag], tagCount: (Item) -> Int,
                      reuse: (Item, [Tag]) -> Thread?, make: (Item, [Tag]) -> Thread) {
        var threads: [Thread] = []
        var bases: [Int] = []
        var targets: [(any TagWriteTarget)?] = []
        var local: [Int] = []
        var next = firstTag
        for item in items {
            let count = tagCount(item)
            let own = Array(tags[next..<next + count])
            let thread = reuse(item, own) ?? make(item, own)
            targets += Array(repeating: thread, count: count)
            local += Array(0..<count)
            bases.append(next)
            next += count
            threads.append(thread)
        }
        self.threads = threads
        self.bases = bases
        writeTargets = targets
        localIndices = local
    }
}
