import Logging
import RailgateConfig
import RailgateCore

/// One `BusPoller` per configured bus, and the owner of each tag for writes.
public struct ModbusBuses {
    public let pollers: [BusPoller]
    /// The poller that owns each gateway tag, indexed like `Configuration.tags()`.
    public let writeTargets: [(any TagWriteTarget)?]

    public init(configuration: Configuration, tags: [Tag], engineWakeup: Wakeup, logger: Logger) {
        var pollers: [BusPoller] = []
        var targets: [(any TagWriteTarget)?] = []
        var firstTag = 0
        for bus in configuration.buses {
            let poller = BusPoller(bus: bus, firstTag: firstTag, tags: tags, engineWakeup: engineWakeup, logger: logger)
            let count = bus.devices.reduce(0) { $0 + $1.tags.count }
            targets += Array(repeating: poller, count: count)
            firstTag += count
            pollers.append(poller)
        }
        self.pollers = pollers
        writeTargets = targets
    }
}
