import CRailgatePlatform

/// The process heap.
public enum Heap {
    /// Returns the heap's free pages to the kernel. Parsing and building a
    /// large configuration frees several times what it keeps (10 000 tags:
    /// a 12.6 MB peak for 5.8 MB live), and glibc keeps those pages resident
    /// otherwise. Call after a configuration is applied, never from the
    /// sampling loop.
    public static func releaseFreePages() { rg_release_free_heap() }
}
