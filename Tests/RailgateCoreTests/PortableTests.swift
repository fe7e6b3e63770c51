import Glibc
import Synchronization
import Testing
@testable import RailgateCore

/// What replaced Foundation: UTC text, paths, trimming and searching, threads, the lock.
struct PortableTests {
    @Test func utcTextIsISO8601WithOrWithoutMilliseconds() {
        #expect(UTCText.iso8601(ns: 0) == "1970-01-01T00:00:00.000Z")
        #expect(UTCText.iso8601(ns: 1_764_079_200_123_456_789) == "2025-11-25T14:00:00.123Z")
        #expect(UTCText.iso8601(ns: 1_764_079_200_999_999_999, milliseconds: false) == "2025-11-25T14:00:00Z")
        // Before 1970 the second begins before the instant: −1 ns is 23:59:59.999.
        #expect(UTCText.iso8601(ns: -1) == "1969-12-31T23:59:59.999Z")
        #expect(UTCText.pad(7, 3) == "007")
        #expect(UTCText.pad(-7, 3) == "-007")
        #expect(UTCText.pad(12345, 3) == "12345")
    }

    @Test func pathsJoinAndSplitAsTheConfigurationNamesThem() {
        #expect(Path.join("/etc/railgate", "gsd/a.gsd") == "/etc/railgate/gsd/a.gsd")
        #expect(Path.join("/etc/railgate/", "a") == "/etc/railgate/a")
        #expect(Path.join("/etc/railgate", "/abs/a") == "/abs/a")
        #expect(Path.join("", "a") == "a")
        #expect(Path.directory(of: "/etc/railgate/railgate.yaml") == "/etc/railgate")
        #expect(Path.directory(of: "railgate.yaml") == "")
        #expect(Path.directory(of: "/railgate.yaml") == "/")
        #expect(Path.directory(of: "/etc/railgate/") == "/etc")
        #expect(Path.lastComponent(of: "/etc/railgate/railgate.yaml") == "railgate.yaml")
        #expect(Path.lastComponent(of: "/etc/railgate/") == "railgate")
        #expect(Path.lastComponent(of: "/") == "/")
    }

    @Test func textIsTrimmedPaddedAndSearchedFromTheEnd() {
        #expect(" \t a b \t".trimmed() == "a b")
        #expect("   ".trimmed() == "")
        #expect(";;x;".trimmed(where: { $0 == ";" }) == "x")
        #expect("ab".padded(to: 4) == "ab  ")
        #expect("abcdef".padded(to: 4) == "abcdef")
        let line = "{\"a\":\"x\",\"hash\":\"1\",\"hash\":\"2\"}"
        let found = line.lastRange(of: ",\"hash\":\"")
        #expect(found.map { String(line[$0.upperBound...]) } == "2\"}")
        #expect(line.lastRange(of: "missing") == nil)
        #expect(line.lastRange(of: "") == nil)
        #expect(hexText([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
    }

    @Test func aThreadRunsItsBodyUnderItsName() {
        let done = Wakeup()
        let name = Mutex("")
        #expect(OSThread.start(name: "rg-test", stackSize: 256 * 1024) {
            // Linux keeps a thread's name in /proc (a file with no size: read, not seeked).
            var buffer = [UInt8](repeating: 0, count: 32)
            let fd = open("/proc/thread-self/comm", O_RDONLY)
            let count = fd < 0 ? 0 : buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if fd >= 0 { close(fd) }
            let text = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).trimmed(where: { $0 == "\n" })
            name.withLock { $0 = text }
            done.signal()
        })
        done.wait(timeoutNs: 5_000_000_000)
        #expect(name.withLock { $0 } == "rg-test")
    }

    @Test func theLockSerializesItsHolders() {
        let lock = Lock()
        let counter = Mutex(0)
        let finished = Wakeup()
        nonisolated(unsafe) let shared = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        shared.initialize(to: 0)
        defer { shared.deallocate() }
        for _ in 0..<4 {
            OSThread.start {
                for _ in 0..<10_000 { lock.withLock { shared.pointee += 1 } }
                counter.withLock { $0 += 1 }
                finished.signal()
            }
        }
        // A Wakeup coalesces signals: wait until all four have counted themselves out.
        let deadline = Clock.monotonicNs() + 10_000_000_000
        while counter.withLock({ $0 }) < 4 && Clock.monotonicNs() < deadline { finished.wait(timeoutNs: 100_000_000) }
        #expect(counter.withLock { $0 } == 4)
        #expect(lock.withLock { shared.pointee } == 40_000)
    }
}
