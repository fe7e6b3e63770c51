import CRailgatePlatform

/// The process heap.
public enum Heap {
    /// Returns the heap's free pages to the kernel. Parsing and building a
    /// large configuration frees several times what it keeps (10 000 tags:
    /// a 12.6 MB peak for 5.8 MB live), and glibc keeps those pages resident
    /// otherwise. Call after a configuration is applied, never from the
    /// sampling loop.
    public static func releaseFreePages() { rg_release_free_heap() }

    /// Unmaps the pages of the binary's and its libraries' code and constants that are mapped
    /// and were never written (`rg_release_file_pages`): start-up maps several times the code a
    /// running gateway uses. What runs afterwards comes back from the page cache on its next use.
    /// Gives the bytes unmapped (nil when /proc/self/smaps cannot be read). Never from the
    /// sampling loop.
    @discardableResult
    public static func releaseFilePages() -> Int? {
        let bytes = rg_release_file_pages()
        return bytes < 0 ? nil : bytes
    }
}
