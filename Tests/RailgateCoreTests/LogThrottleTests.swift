import RailgateCore
import Testing

struct LogThrottleTests {
    @Test func aBurstPerIntervalThenACountOfWhatWasLeftOut() {
        let throttle = LogThrottle(burst: 3, intervalNs: 1_000)
        #expect((0..<3).map { throttle.admit(nowNs: 10 + Int64($0)) } == [0, 0, 0])
        #expect((0..<5).allSatisfy { throttle.admit(nowNs: 20 + Int64($0)) == nil })
        // A new interval: the first line says five were left out.
        #expect(throttle.admit(nowNs: 1_010) == 5)
        #expect(throttle.admit(nowNs: 1_011) == 0)
    }
}
