import RailgateCore
import Testing

@Suite struct UnixSocketAddressTests {
    @Test func pathsAndAbstractNames() {
        #expect(UnixSocketAddress("/run/x.sock").map { Int($0.length) } == 2 + 11)
        // An abstract name keeps its leading NUL in the length and has no trailing one.
        #expect(UnixSocketAddress("@notify").map { Int($0.length) } == 2 + 7)
        #expect(UnixSocketAddress("") == nil)
        #expect(UnixSocketAddress("/" + String(repeating: "a", count: 200)) == nil)
    }
}
