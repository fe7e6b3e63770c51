import Logging
import RailgateConfig
import RailgateCore

/// One `DPMaster` per configured PROFIBUS line and where its tags sit among the gateway's.
public struct ProfibusLines {
    public let layout: SouthLayout<DPMaster>
    public var masters: [DPMaster] { layout.threads }
    public var bases: [Int] { layout.bases }
    public var writeTargets: [(any TagWriteTarget)?] { layout.writeTargets }
    public var localIndices: [Int] { layout.localIndices }

    /// - Parameters:
    ///   - firstTag: gateway index of the first PROFIBUS tag (they follow the Modbus tags).
    ///   - reusing: running masters; one whose line settings and tags are unchanged is kept.
    public init(configuration: Configuration, firstTag: Int, tags: [Tag], engineWakeup: Wakeup, logger: Logger,
                reusing running: [DPMaster] = []) {
        layout = SouthLayout(
            configuration.profibus, firstTag: firstTag, tags: tags,
            tagCount: { $0.slaves.reduce(0) { $0 + $1.tags.count } },
            reuse: { line, own in running.first { $0.line.sameSettings(as: line) && $0.ownTags == own } },
            make: { line, own in DPMaster(line: line, firstTag: 0, tags: own, engineWakeup: engineWakeup, logger: logger) })
    }
}
