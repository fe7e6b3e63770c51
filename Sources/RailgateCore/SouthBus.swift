/// One south bus or line, whatever its protocol: a thread that reads its
/// devices into a ring of samples for the engine, takes writes for its tags
/// and reports its devices' health. Its tags are numbered from 0; the runtime
/// places them among the gateway's (`SouthLayout`).
///
/// A Modbus bus (`BusPoller`), a PROFIBUS-DP line (`DPMaster`) and a CAN bus
/// (`CANBus`) conform; the runtime, the console, OPC UA's device objects and
/// the systemd status reach every protocol through this contract only.
public protocol SouthBus: TagWriteTarget {
    /// The configuration's word for its protocol: `modbus-tcp`, `modbus-rtu`, `profibus-dp`, `can`.
    var protocolName: String { get }
    /// What a technician calls it, before its name: `bus` (Modbus, CAN) or `line` (PROFIBUS-DP).
    var kind: String { get }
    /// Its name in the configuration.
    var name: String { get }
    /// Where its thread pushes samples; the engine drains it.
    var ring: SampleRing { get }
    /// The tags it was built for, in its own order (compared to keep it running across a commit).
    var ownTags: [Tag] { get }
    /// Its devices' names, in configuration order.
    var deviceNames: [String] { get }
    /// One device's communication health (OPC UA device objects, the systemd status).
    func health(device: Int) -> DeviceHealth
    /// Its counters and its devices' state, for the console.
    func status() -> SouthStatus
    /// Where its tag `index` comes from, in words (`show tag`).
    func tagSource(_ index: Int) -> String
    /// Per own tag, the age (ns) after which a good value that was not read again goes
    /// Bad (timeout) in the engine; 0 where the bus marks its tags itself.
    var tagDeadlinesNs: [Int64] { get }
    /// The longest one request may hold its thread (ms), for the watchdog's warning.
    var longestRequestMs: Int { get }
    func start()
    func stop()
    /// Running, not waiting, and no progress for `limitNs` (for the service watchdog).
    func isStalled(limitNs: Int64) -> Bool
}

/// A named count (`requests 12`), as the console and the log show counters.
public struct SouthCounter: Sendable, Equatable {
    public var name: String
    public var value: Int

    public init(_ name: String, _ value: Int) {
        self.name = name
        self.value = value
    }
}

/// One device on a south bus, as the console shows it.
public struct SouthDeviceStatus: Sendable, Equatable {
    public var name: String
    /// Where it sits on its bus: `unit 3`, `address 5`, `2 messages`.
    public var address: String
    /// A protocol's own state of the device (PROFIBUS-DP: `data-exchange`), if it has one.
    public var state: String?
    public var health: DeviceHealth
    public var counters: [SouthCounter]

    public init(name: String, address: String, state: String? = nil, health: DeviceHealth, counters: [SouthCounter]) {
        self.name = name
        self.address = address
        self.state = state
        self.health = health
        self.counters = counters
    }
}

/// A south bus's counters and devices, as the console and the log show them.
public struct SouthStatus: Sendable, Equatable {
    public var protocolName: String
    public var kind: String
    public var name: String
    /// Counters of the bus as a whole (empty where only its devices count).
    public var counters: [SouthCounter]
    /// Duration of its last cycle as a whole, ns, where it has one.
    public var lastCycleNs: Int64?
    public var lastError: String?
    public var devices: [SouthDeviceStatus]

    public init(protocolName: String, kind: String, name: String, counters: [SouthCounter] = [],
                lastCycleNs: Int64? = nil, lastError: String? = nil, devices: [SouthDeviceStatus]) {
        self.protocolName = protocolName
        self.kind = kind
        self.name = name
        self.counters = counters
        self.lastCycleNs = lastCycleNs
        self.lastError = lastError
        self.devices = devices
    }
}

public enum SouthDeadline {
    /// The shortest deadline a polled tag gets (TagEngine `maxAgesNs`), whatever its bus's timing.
    public static let floorNs: Int64 = 5_000_000_000
}
