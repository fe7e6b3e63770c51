/// What the console, the log and the systemd status show of the gateway's parts: plain values,
/// made by south buses and north sinks, formatted by the console.

/// A named count (`requests 12`), as the console and the log show counters.
public struct StatusCounter: Sendable, Equatable {
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
    public var counters: [StatusCounter]

    public init(name: String, address: String, state: String? = nil, health: DeviceHealth, counters: [StatusCounter]) {
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
    public var counters: [StatusCounter]
    /// Duration of its last cycle as a whole, ns, where it has one.
    public var lastCycleNs: Int64?
    public var lastError: String?
    public var devices: [SouthDeviceStatus]

    public init(protocolName: String, kind: String, name: String, counters: [StatusCounter] = [],
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

/// One north MQTT connection (JSON or Sparkplug B), as the console shows it.
public struct NorthStatus: Sendable, Equatable {
    /// `mqtt` (JSON) or `sparkplug`.
    public var name: String
    /// The broker in use, `host:port`.
    public var broker: String
    public var connected: Bool
    public var counters: [StatusCounter]

    public init(name: String, broker: String, connected: Bool, counters: [StatusCounter]) {
        self.name = name
        self.broker = broker
        self.connected = connected
        self.counters = counters
    }

    /// `published=12 failed=0 …`, as the log's totals line has it.
    public var countersText: String { counters.map { "\($0.name)=\($0.value)" }.joined(separator: " ") }
}
