import Glibc

// What Railgate took from Foundation, on the C library: threads, a lock, UTC
// text, paths and standard streams. Foundation (with ICU's 30 MB of tables)
// stays out of the binary; see docs/benchmarks.md, footprint.

/// A detached OS thread.
public enum OSThread {
    /// Starts `body` on a new thread named `name` (at most 15 bytes are kept by Linux).
    /// `stackSize` 0 takes the system's default. Returns false when the system has no thread to give.
    @discardableResult
    public static func start(name: String? = nil, stackSize: Int = 0, _ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(ThreadBody(name: name, body: body))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if stackSize > 0 { pthread_attr_setstacksize(&attributes, stackSize) }
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            guard let context else { return nil }
            let work = Unmanaged<ThreadBody>.fromOpaque(context).takeRetainedValue()
            if let name = work.name { Clock.nameCurrentThread(name) }
            work.body()
            return nil
        }, box.toOpaque())
        guard result == 0 else {
            box.release()
            return false
        }
        return true
    }

    private final class ThreadBody: @unchecked Sendable {
        let name: String?
        let body: @Sendable () -> Void

        init(name: String?, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}

/// A mutual-exclusion lock (a pthread mutex) for code that locks and unlocks
/// around more than one closure can hold.
public final class Lock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() {
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }

    public func unlock() { pthread_mutex_unlock(mutex) }

    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// UTC time as ISO 8601 text.
public enum UTCText {
    /// `2026-11-25T14:00:00.123Z` (milliseconds) or `2026-11-25T14:00:00Z`, from
    /// nanoseconds since 1970.
    public static func iso8601(ns: Int64, milliseconds: Bool = true) -> String {
        let (seconds, remainder) = ns.quotientAndRemainder(dividingBy: 1_000_000_000)
        // Before 1970, the second begins before the instant.
        let whole = remainder < 0 ? seconds - 1 : seconds
        let fraction = remainder < 0 ? remainder + 1_000_000_000 : remainder
        var time = time_t(whole)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "?" }
        var text = pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
        text += "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
        if milliseconds { text += "." + pad(Int(fraction / 1_000_000), 3) }
        return text + "Z"
    }

    /// The current time, as `iso8601(ns:milliseconds:)`.
    public static func now(milliseconds: Bool = false) -> String {
        iso8601(ns: Clock.realtimeNs(), milliseconds: milliseconds)
    }

    /// `value` in decimal, at least `width` digits with leading zeros.
    public static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value.magnitude)
        let zeros = String(repeating: "0", count: max(0, width - digits.count))
        return (value < 0 ? "-" : "") + zeros + digits
    }
}

extension StringProtocol {
    /// This text without the leading and trailing characters `drop` accepts (spaces and tabs).
    public func trimmed(where drop: (Character) -> Bool = { $0 == " " || $0 == "\t" }) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else { return "" }
        return String(self[first...last])
    }
}

extension StringProtocol {
    /// Where `needle` last occurs, searched from the end (cheap when it is near the end).
    public func lastRange(of needle: String) -> Range<Index>? {
        guard !needle.isEmpty else { return nil }
        var start = endIndex
        while start > startIndex {
            start = index(before: start)
            if self[start...].hasPrefix(needle) {
                return start..<index(start, offsetBy: needle.count)
            }
        }
        return nil
    }
}

extension String {
    /// This text followed by spaces up to `width` characters (never cut).
    public func padded(to width: Int) -> String {
        let length = count
        return length >= width ? self : self + String(repeating: " ", count: width - length)
    }
}

/// Lowercase hexadecimal digits, two per byte.
public func hexText<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// File paths as text, the way the configuration names them.
public enum Path {
    /// `name` under `directory`, unless `name` is absolute.
    public static func join(_ directory: String, _ name: String) -> String {
        if name.hasPrefix("/") || directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The directory part of `path` (empty for a bare name, `/` for a file at the root).
    public static func directory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// The last part of `path`.
    public static func lastComponent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/"), trimmed.count > 1 else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }
}

/// Writes to standard output or error, all of it (a closed stream ends the write quietly).
public enum StandardStream {
    public static func out(_ text: String) { write(1, text) }

    public static func error(_ text: String) { write(2, text) }

    private static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            _ = writeAll(UnsafeRawBufferPointer(bytes)) { Glibc.write(fd, $0, $1) }
        }
    }
}

/// Hands all of `bytes` to `write` (a `write` or `send` on one descriptor), again after a short
/// write or EINTR; stops at the first other failure. Returns whether everything went.
public func writeAll(_ bytes: UnsafeRawBufferPointer, _ write: (UnsafeRawPointer, Int) -> Int) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    var offset = 0
    while offset < bytes.count {
        let n = write(base + offset, bytes.count - offset)
        if n > 0 {
            offset += n
        } else if n < 0 && errno == EINTR {
            continue
        } else {
            return false
        }
    }
    return true
}
