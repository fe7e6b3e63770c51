import Logging
import RailgateConfig
import RailgateCore

/// One `BusPoller` per configured bus, and the owner of each tag for writes.
/// Pollers number their tags from 0; `bases` says where each one's tags
/// start among the gateway's.
public struct ModbusBuses {
    public let pollers: [BusPoller]
    /// Gateway index of each poller's first tag.
    public let bases: [Int]
    /// The poller that owns each gateway tag, indexed like `Configuration.tags()`.
    public let writeTargets: [(any TagWriteTarget)?]
    /// Each gateway tag's index within its poller.
    public let localIndices: [Int]

    /// - Parameter reusing: running pollers; one whose bus settings and tags
    ///   are unchanged is kept as it is (it goes on polling), the others are
    ///   not used.
    public init(configuration: Configuration, tags: [Tag], engineWakeup: Wakeup, logger: Logger,
                reusing running: [BusPoller] = []) {
        var pollers: [BusPoller] = []
        var bases: [Int] = []
        var targets: [(any TagWriteTarget)?] = []
        var local: [Int] = []
        var firstTag = 0
        for bus in configuration.buses {
            let count = bus.devices.reduce(0) { $0 + $1.tags.count }
            let own = Array(tags[firstTag..<firstTag + count])
            let poller = running.first { $0.bus.sameSettings(as: bus) && $0.ownTags == own }
                ?? BusPoller(bus: bus, firstTag: 0, tags: own, engineWakeup: engineWakeup, logger: logger)
            targets += Array(repeating: poller, count: count)
            local += Array(0..<count)
            bases.append(firstTag)
            firstTag += count
            pollers.append(poller)
        }
        self.pollers = pollers
        self.bases = bases
        writeTargets = targets
        localIndices = local
    }
}
