// libFuzzer entry points for every Railgate fuzz harness, one executable for all of them.
// scripts/fuzz builds it with `--sanitize fuzzer --sanitize address` and picks the harness with
// RAILGATE_FUZZ_HARNESS; RAILGATE_FUZZ_SEEDS=<dir> writes the harness's seed inputs and exits.
// A harness traps (and libFuzzer reports the input) on anything the product must never do:
// a Swift runtime trap, a sanitizer report, or a broken invariant checked with `expect`.
import Foundation
import Glibc

/// One fuzz target: `run` is called with each input, on one thread.
protocol Harness: AnyObject {
    static var name: String { get }
    init()
    func run(_ input: UnsafeBufferPointer<UInt8>)
    /// Inputs to start from (golden bytes built with the product's own encoders).
    static func seeds() -> [[UInt8]]
}

let harnesses: [any Harness.Type] = [
    FDLHarness.self, ModbusHarness.self, GSDHarness.self, DBCHarness.self, ConfigHarness.self,
    ConsoleHarness.self, ControlHarness.self, SparkplugHarness.self, JournalHarness.self,
    UAStreamHarness.self, UARequestHarness.self, KPIHarness.self, HistoryHarness.self, UAEventFilterHarness.self,
]

nonisolated(unsafe) var selected: (any Harness)?

/// A broken invariant: libFuzzer keeps the input that led here.
func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        say("railgate-fuzz: invariant broken: \(message())")
        abort()
    }
}

/// A line on standard error.
func say(_ line: String) {
    let text = Array((line + "\n").utf8)
    _ = text.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
}

/// A scratch directory on tmpfs for harnesses that need files, emptied by `reset`.
enum Scratch {
    static let root: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        let path = "\(base)/railgate-fuzz-\(getpid())"
        mkdir(path, 0o700)
        atexit { _ = system("rm -rf /dev/shm/railgate-fuzz-\(getpid()) /tmp/railgate-fuzz-\(getpid())") }
        return path
    }()

    static func directory(_ name: String) -> String {
        let path = "\(root)/\(name)"
        remove(path)
        mkdir(path, 0o700)
        return path
    }

    /// Removes a file or a directory and what it holds (no shell: harnesses run it per input).
    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    static func write(_ bytes: some Collection<UInt8>, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        expect(fd >= 0, "cannot write \(path)")
        let array = Array(bytes)
        _ = array.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}

/// Reads an input front to back; past its end every read gives zero.
struct InputReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func uint16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }

    mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        let n = max(0, min(count, remaining))
        defer { offset += n }
        return Array(bytes[offset..<offset + n])[...]
    }

    mutating func rest() -> ArraySlice<UInt8> { take(remaining) }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let name = getenv("RAILGATE_FUZZ_HARNESS").map { String(cString: $0) } ?? ""
    guard let type = harnesses.first(where: { $0.name == name }) else {
        say("railgate-fuzz: set RAILGATE_FUZZ_HARNESS to one of: \(harnesses.map { $0.name }.joined(separator: " "))")
        exit(2)
    }
    if let directory = getenv("RAILGATE_FUZZ_SEEDS").map({ String(cString: $0) }) {
        mkdir(directory, 0o755)
        for (index, seed) in type.seeds().enumerated() {
            Scratch.write(seed, to: "\(directory)/seed-\(index)")
        }
        exit(0)
    }
    selected = type.init()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, let harness = selected else { return 0 }
    harness.run(UnsafeBufferPointer(start: data, count: size))
    return 0
}
