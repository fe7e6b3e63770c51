import Logging
import RailgateConfig
import RailgateCore

/// One `BusPoller` per configured bus and where its tags sit among the gateway's.
public struct ModbusBuses {
    public let layout: SouthLayout<BusPoller>
    public var pollers: [BusPoller] { layout.threads }
    public var bases: [Int] { layout.bases }
    public var writeTargets: [(any TagWriteTarget)?] { layout.writeTargets }
    public var localIndices: [Int] { layout.localIndices }

    /// - Parameter reusing: running pollers; one whose bus settings and tags
    ///   are unchanged is kept as it is (it goes on polling).
    public init(configuration: Configuration, tags: [Tag], engineWakeup: Wakeup, logger: Logger,
                reusing running: [BusPoller] = []) {
        layout = SouthLayout(
            configuration.buses, firstTag: 0, tags: tags,
            tagCount: { $0.devices.reduce(0) { $0 + $1.tags.count } },
            reuse: { bus, own in running.first { $0.bus.sameSettings(as: bus) && $0.ownTags == own } },
            make: { bus, own in BusPoller(bus: bus, firstTag: 0, tags: own, engineWakeup: engineWakeup, logger: logger) })
    }
}
