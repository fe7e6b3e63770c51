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

public enum SouthDeadline {
    /// The shortest deadline a polled tag gets (TagEngine `maxAgesNs`), whatever its bus's timing.
    public static let floorNs: Int64 = 5_000_000_000
}
