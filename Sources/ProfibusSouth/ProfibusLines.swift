import Logging
import RailgateConfig
import RailgateCore

/// One `DPMaster` per configured PROFIBUS line, and the owner of each of
/// their tags for writes.
public struct ProfibusLines {
    public let masters: [DPMaster]
    /// Write targets of the PROFIBUS tags, indexed from `firstTag`.
    public let writeTargets: [(any TagWriteTarget)?]

    /// - Parameter firstTag: gateway index of the first PROFIBUS tag (they follow the Modbus tags).
    public init(configuration: Configuration, firstTag: Int, tags: [Tag], engineWakeup: Wakeup, logger: Logger) {
        var masters: [DPMaster] = []
        var targets: [(any TagWriteTarget)?] = []
        var next = firstTag
        for line in configuration.profibus {
            let master = DPMaster(line: line, firstTag: next, tags: tags, engineWakeup: engineWakeup, logger: logger)
            let count = line.slaves.reduce(0) { $0 + $1.tags.count }
            targets += Array(repeating: master, count: count)
            next += count
            masters.append(master)
        }
        self.masters = masters
        writeTargets = targets
    }
}
