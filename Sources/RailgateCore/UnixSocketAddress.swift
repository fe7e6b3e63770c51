import Glibc

/// A Unix domain socket address: a filesystem path, or `@name` for the
/// abstract namespace (as systemd's NOTIFY_SOCKET may be).
public struct UnixSocketAddress: @unchecked Sendable {
    private var storage = sockaddr_un()
    public let length: socklen_t

    /// Nil when the path is empty or longer than `sun_path` holds.
    public init?(_ path: String) {
        let abstract = path.hasPrefix("@")
        // Abstract names start with a NUL octet; filesystem paths end with one.
        let bytes = abstract ? [0] + Array(path.utf8.dropFirst()) : Array(path.utf8) + [0]
        guard bytes.count > 1, bytes.count <= MemoryLayout.size(ofValue: storage.sun_path) else { return nil }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        length = socklen_t(MemoryLayout<sa_family_t>.size + (abstract ? bytes.count : bytes.count - 1))
    }

    /// Calls `body` with the address as a `sockaddr` and its length (for bind, connect, sendto).
    public func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafePointer(to: storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
