import RailgateConfig
import RailgateCore

/// A console request the gateway could not carry out, in words for the technician.
public struct ConsoleError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What the console needs from the running gateway. The `railgate run`
/// process implements it; the console never holds gateway parts itself, so
/// a commit can replace them.
public protocol GatewayControl: AnyObject, Sendable {
    /// The running configuration, its text as last committed, and its file.
    func running() -> (configuration: Configuration, text: String, path: String)
    /// The tag table of the running gateway (its tags and current values).
    func tagTable() -> TagTable
    /// Where a tag comes from, e.g. `bus tcp1, unit 1, holding-register 0 (float32 ABCD)`.
    func source(ofTag index: Int) -> String
    /// The gateway as a whole: who, which version and configuration, what runs.
    func status() -> GatewayStatus
    /// Every south bus (Modbus, PROFIBUS-DP, CAN) with its counters and devices, in tag order.
    func southStatus() -> [SouthStatus]
    /// Every north connection (MQTT JSON or Sparkplug B) with its counters.
    func northStatus() -> [NorthStatus]
    /// Runs a write through the write policy and waits for its outcome.
    func write(path: String, value: WriteValue, origin: String) -> WriteOutcome
    /// Whether `password` is the password of signer `name` (`console.signers`).
    func verifySigner(_ name: String, password: String) -> Bool
    /// `write` with the reason the person gave (required in Part 11 mode).
    func write(path: String, value: WriteValue, origin: String, reason: String?) -> WriteOutcome
    /// Replaces the running gateway with `configuration` (whose file text is
    /// `text`). When the new one cannot start, the old one is started again
    /// and the error is thrown.
    func apply(_ configuration: Configuration, text: String) throws
    /// `apply`, saying who changes the configuration and why (OPC UA clients are told before
    /// the running gateway makes way for the new one).
    func apply(_ configuration: Configuration, text: String, change: ConfigurationChange) throws
    /// Appends an event to the audit trail (and the log).
    func audit(_ event: String, user: String, details: [(String, String)])
    var auditPath: String? { get }
    /// The last lines of the log.
    func recentLog(_ count: Int) -> [String]
    /// A one-off Modbus read on a bus's own thread: the values, or why not.
    func modbusRead(bus: String, unit: Int, table: ModbusTable, start: Int, count: Int) -> Result<[UInt16], ConsoleError>
    /// A test publication to the configured broker, on a connection of its own.
    func testMQTT() -> (ok: Bool, text: String)
    /// OPC UA client certificates, rejected then trusted; nil when the OPC UA server has no
    /// secured channels.
    func opcuaCertificates() -> [CertificateFolder]?
    /// Moves the rejected client certificate whose file name or thumbprint
    /// starts with `prefix` to trusted/; returns its file name.
    func opcuaTrust(_ prefix: String) -> Result<String, ConsoleError>
}

/// The gateway as `show status` shows it (`StatusReport.statusLines`).
public struct GatewayStatus: Sendable, Equatable {
    public var id: String
    /// The ISA-95 levels above the devices (`acme/plant1/…`).
    public var hierarchy: [String]
    public var version: String
    public var uptimeSeconds: Int
    public var configPath: String
    /// SHA-256 of the configuration file as it is on disk, hex.
    public var configDigest: String
    public var south: [SouthStatus]
    public var tagCount: Int
    public var writesEnabled: Bool
    public var north: [NorthStatus]
    public var opcuaEndpoint: String?
    public var auditPath: String?
    /// The tag history, when kept: `<dir>: N tags, stored=…, lost=…`.
    public var history: String?

    public init(id: String, hierarchy: [String], version: String, uptimeSeconds: Int, configPath: String,
                configDigest: String, south: [SouthStatus], tagCount: Int, writesEnabled: Bool,
                north: [NorthStatus], opcuaEndpoint: String?, auditPath: String?) {
        self.id = id
        self.hierarchy = hierarchy
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.configPath = configPath
        self.configDigest = configDigest
        self.south = south
        self.tagCount = tagCount
        self.writesEnabled = writesEnabled
        self.north = north
        self.opcuaEndpoint = opcuaEndpoint
        self.auditPath = auditPath
    }
}

/// One folder of the OPC UA server's certificate store (`rejected` or `trusted`) and the client
/// certificates in it.
public struct CertificateFolder: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var thumbprint: String
        public var subject: String

        public init(thumbprint: String, subject: String) {
            self.thumbprint = thumbprint
            self.subject = subject
        }
    }

    /// `rejected` or `trusted`.
    public var name: String
    public var path: String
    public var entries: [Entry]

    public init(name: String, path: String, entries: [Entry]) {
        self.name = name
        self.path = path
        self.entries = entries
    }
}

/// Who changes the running configuration, how and why.
public struct ConfigurationChange: Sendable, Equatable {
    /// `commit`, `commit confirmed`, `rollback`.
    public var action: String
    public var user: String
    public var comment: String?

    public init(action: String, user: String, comment: String? = nil) {
        self.action = action
        self.user = user
        self.comment = comment
    }
}

extension GatewayControl {
    public func verifySigner(_ name: String, password: String) -> Bool { false }

    public func write(path: String, value: WriteValue, origin: String, reason: String?) -> WriteOutcome {
        write(path: path, value: value, origin: origin)
    }

    public func apply(_ configuration: Configuration, text: String, change: ConfigurationChange) throws {
        try apply(configuration, text: text)
    }
}
