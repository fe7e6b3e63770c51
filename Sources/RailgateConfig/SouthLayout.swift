import RailgateCore

/// How one protocol's south buses are made from a configuration. Each south module offers one
/// (`BusPoller.factory`, `DPMaster.factory`, `CANBus.factory`); the runtime lists them once, in
/// the order `Configuration.tags()` numbers their tags.
public struct SouthFactory: Sendable {
    /// One configured bus of the protocol, not made yet.
    public struct Plan {
        /// How many of the gateway's tags it owns.
        public var tagCount: Int
        /// Whether a running bus serves this one with these tags unchanged (it is kept running).
        public var keeps: (any SouthBus, [Tag]) -> Bool
        /// A new bus for these tags.
        public var make: ([Tag]) -> any SouthBus

        public init(tagCount: Int, keeps: @escaping (any SouthBus, [Tag]) -> Bool,
                    make: @escaping ([Tag]) -> any SouthBus) {
            self.tagCount = tagCount
            self.keeps = keeps
            self.make = make
        }
    }

    /// The protocol's name in the log (`modbus`, `profibus`, `can`).
    public let name: String
    /// The protocol's buses in a configuration, in tag order; their threads signal the wakeup.
    public let plans: @Sendable (Configuration, Wakeup) -> [Plan]
    /// What `railgate check` says of the protocol's buses in a configuration: a line per bus,
    /// indented lines per device.
    public let describe: @Sendable (Configuration) -> [String]

    public init(name: String, plans: @escaping @Sendable (Configuration, Wakeup) -> [Plan],
                describe: @escaping @Sendable (Configuration) -> [String]) {
        self.name = name
        self.plans = plans
        self.describe = describe
    }
}

extension SouthFactory {
    /// The factory of a protocol whose configured buses are `items` and whose running buses are
    /// `Bus` objects: a running one is kept when `sameSettings` holds and its tags are unchanged.
    public static func buses<Bus: SouthBus, Item>(
        _ name: String, of items: @escaping @Sendable (Configuration) -> [Item],
        tagCount: @escaping @Sendable (Item) -> Int, sameSettings: @escaping @Sendable (Bus, Item) -> Bool,
        make: @escaping @Sendable (Item, [Tag], Wakeup) -> Bus,
        describe: @escaping @Sendable ([Item]) -> [String]
    ) -> SouthFactory {
        SouthFactory(name: name, plans: { configuration, wakeup in
            items(configuration).map { item in
                Plan(tagCount: tagCount(item),
                     keeps: { running, own in
                         guard let bus = running as? Bus else { return false }
                         return sameSettings(bus, item) && bus.ownTags == own
                     },
                     make: { own in make(item, own, wakeup) })
            }
        }, describe: { describe(items($0)) })
    }
}

/// The south buses of one configuration and where their tags sit among the gateway's. Buses
/// number their own tags from 0; the engine adds `bases`, the write router passes `localIndices`.
public struct SouthLayout {
    public let buses: [any SouthBus]
    /// Gateway index of each bus's first tag.
    public let bases: [Int]
    /// The bus that owns each gateway tag, and the tag's index within it.
    public let owners: [any SouthBus]
    public let localIndices: [Int]

    /// - Parameters:
    ///   - factories: every protocol, in the order `configuration.tags()` numbers their tags.
    ///   - reusing: running buses; one that serves a configured bus with its tags unchanged is kept
    ///     as it is (it goes on polling), each at most once.
    public init(configuration: Configuration, tags: [Tag], factories: [SouthFactory], engineWakeup: Wakeup,
                reusing running: [any SouthBus] = []) {
        var buses: [any SouthBus] = []
        var bases: [Int] = []
        var owners: [any SouthBus] = []
        var local: [Int] = []
        var kept = Set<ObjectIdentifier>()
        var next = 0
        for factory in factories {
            for plan in factory.plans(configuration, engineWakeup) {
                let end = min(tags.count, next + plan.tagCount)
                let own = Array(tags[next..<end])
                let reused = running.first { !kept.contains(ObjectIdentifier($0)) && plan.keeps($0, own) }
                let bus = reused ?? plan.make(own)
                kept.insert(ObjectIdentifier(bus))
                owners += Array(repeating: bus, count: own.count)
                local += Array(0..<own.count)
                bases.append(next)
                next = end
                buses.append(bus)
            }
        }
        self.buses = buses
        self.bases = bases
        self.owners = owners
        localIndices = local
    }

    /// Each tag's deadline for the engine (TagEngine `maxAgesNs`), one per tag: what its bus says,
    /// 0 for a tag no bus owns.
    public func deadlinesNs(tagCount: Int) -> [Int64] {
        var deadlines = Array(repeating: Int64(0), count: tagCount)
        for (bus, base) in zip(buses, bases) {
            for (offset, deadline) in bus.tagDeadlinesNs.enumerated() where base + offset < tagCount {
                deadlines[base + offset] = deadline
            }
        }
        return deadlines
    }
}

extension SouthLayout {
    /// The gateway's devices, their tags, and each one's health read from the bus that owns it.
    public func deviceTable(tags: [Tag], identities: [String: EquipmentIdentity] = [:]) -> DeviceTable {
        var owners: [String: (any SouthBus, Int)] = [:]
        for bus in buses {
            for (index, device) in bus.deviceNames.enumerated() { owners[device] = (bus, index) }
        }
        return DeviceTable(tags: tags, identities: identities) { [owners] name in
            guard let (bus, index) = owners[name] else { return nil }
            return bus.health(device: index)
        }
    }
}
