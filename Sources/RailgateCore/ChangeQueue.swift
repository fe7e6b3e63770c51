/// The bounded queue from the `TagEngine` to one north sink, with a wakeup.
/// A full queue drops the change and counts it (`overruns`); the engine never
/// waits for a sink. String values are not carried: the sink reads the text
/// from the `TagTable`.
public final class ChangeQueue: Sendable {
    public let name: String
    public let ring: SampleRing
    public let wakeup = Wakeup()

    public init(name: String, capacity: Int = 16384) {
        self.name = name
        ring = SampleRing(minimumCapacity: capacity)
    }

    public var overruns: Int { ring.overruns }
}
