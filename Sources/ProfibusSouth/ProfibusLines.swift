import Logging
import RailgateConfig
import RailgateCore

/// One `DPMaster` per configured PROFIBUS line, and the owner of each of
/// their tags for writes. Masters number their tags from 0.
public struct ProfibusLines {
    public let masters: [DPMaster]
    /// Gateway index of each master's first tag.
    public let bases: [Int]
    /// Write targets of the PROFIBUS tags, and each tag's index within its master.
    public let writeTargets: [(any TagWriteTarget)?]
    public let localIndices: [Int]

    /// - Parameters:
    ///   - firstTag: gateway index of the first PROFIBUS tag (they follow the Modbus tags).
    ///   - reusing: running masters; one whose line settings and tags are unchanged is kept.
    public init(configuration: Configuration, firstTag: Int, tags: [Tag], engineWakeup: Wakeup, logger: Logger,
                reusing running: [DPMaster] = []) {
        var masters: [DPMaster] = []
        var bases: [Int] = []
        var targets: [(any TagWriteTarget)?] = []
        var local: [Int] = []
        var next = firstTag
        for line in configuration.profibus {
            let count = line.slaves.reduce(0) { $0 + $1.tags.count }
            let own = Array(tags[next..<next + count])
            let master = running.first { $0.line.sameSettings(as: line) && $0.ownTags == own }
                ?? DPMaster(line: line, firstTag: 0, tags: own, engineWakeup: engineWakeup, logger: logger)
            targets += Array(repeating: master, count: count)
            local += Array(0..<count)
            bases.append(next)
            next += count
            masters.append(master)
        }
        self.masters = masters
        self.bases = bases
        writeTargets = targets
        localIndices = local
    }
}
