import RailgateCore

/// A validated Railgate configuration. Build one with `Configuration.load`.
public struct Configuration: Sendable, Equatable {
    public var gateway: GatewayConfig
    public var mqtt: MQTTConfig?
    public var opcua: OPCUAConfig?
    /// Modbus buses.
    public var buses: [BusConfig]
    /// PROFIBUS-DP lines.
    public var profibus: [ProfibusLineConfig]
    /// CAN buses.
    public var can: [CANBusConfig] = []
    /// The control socket for `railgate console`; nil: no socket.
    public var console: ConsoleConfig?
    /// Code translation tables (`maps:`), by name.
    public var maps: [String: CodeMap] = [:]
    /// ISA-95 identities of field devices (`identity:`), by device name.
    public var identities: [String: EquipmentIdentity] = [:]
    /// Edge KPIs (`kpi:`).
    public var kpi: KPIConfig?
    /// Tag history on disk (`history:`).
    public var history: HistoryConfig?
    /// Alarms on tags (`alarms:`).
    public var alarms: [AlarmConfig] = []
    /// The schema the file was written in, and what was changed to read it
    /// with this release (empty when it was current).
    public var schema = ConfigSchema.current
    public var migrationNotes: [ConfigSchema.Note] = []

    public init(gateway: GatewayConfig, mqtt: MQTTConfig?, opcua: OPCUAConfig?, buses: [BusConfig],
                profibus: [ProfibusLineConfig] = [], console: ConsoleConfig? = nil) {
        self.gateway = gateway
        self.mqtt = mqtt
        self.opcua = opcua
        self.buses = buses
        self.profibus = profibus
        self.console = console
    }

    /// Every tag, in configuration order: Modbus buses (bus, device, tag),
    /// then PROFIBUS lines (line, slave, tag), CAN buses, then the KPI machines'
    /// published tags, then the alarms' state tags. Indices into this array are the tag indices used by
    /// samples and the `TagTable`.
    public func tags() -> [Tag] {
        var tags: [Tag] = []
        for bus in buses {
            for device in bus.devices {
                for tag in device.tags {
                    let value = TagValueConfig(scaling: tag.scaling, unit: tag.unit,
                                               absoluteDeadband: tag.absoluteDeadband, range: tag.range, codes: tag.codes)
                    tags.append(makeTag(tag.name, device: device.name, type: tag.type, order: tag.order, value: value,
                                        writable: tag.writable, stringLength: tag.type == .string ? tag.length : 0))
                }
            }
        }
        for line in profibus {
            for slave in line.slaves {
                for tag in slave.tags {
                    tags.append(makeTag(tag.name, device: slave.name, type: tag.type, order: tag.order, value: tag.value,
                                        writable: tag.writable, stringLength: 0))
                }
            }
        }
        for bus in can {
            for device in bus.devices {
                for (_, signal) in CANBusConfig.signals(of: device) {
                    let range = signal.minimum < signal.maximum ? signal.minimum...signal.maximum : nil
                    tags.append(Tag(name: signal.name, device: device.name,
                                    path: gateway.hierarchy.path(device: device.name, tag: signal.name),
                                    dataType: .float64, unit: signal.unit.isEmpty ? nil : signal.unit,
                                    writable: device.writable.contains(signal.name), range: range))
                }
            }
        }
        let computed = tags + kpiTags()
        let alarms = alarmTags(before: computed)
        // The tag table keeps this array for the gateway's life: no room to grow (appending leaves
        // up to twice the room needed — 1.2 MB at 10 000 tags).
        var all: [Tag] = []
        all.reserveCapacity(computed.count + alarms.count)
        all.append(contentsOf: computed)
        all.append(contentsOf: alarms)
        return all
    }

    private func makeTag(_ name: String, device: String, type: DataType, order: ByteOrder, value: TagValueConfig,
                         writable: Bool, stringLength: Int) -> Tag {
        Tag(name: name, device: device, path: gateway.hierarchy.path(device: device, tag: name),
            dataType: type, order: order, scaling: value.scaling, unit: value.unit,
            deadband: value.absoluteDeadband, writable: writable, stringLength: stringLength, range: value.range,
            codes: value.codes)
    }
}

/// The control socket that `railgate console` talks to, and the committed
/// configurations kept for rollback.
public struct ConsoleConfig: Sendable, Equatable {
    /// Unix socket path; created with mode 0660 and group `group`.
    public var socket: String
    /// Members of this group (and root) may use the console.
    public var group: String
    /// Directory of the last `history` committed configurations.
    public var historyDirectory: String
    public var history: Int
    /// Who may sign commits (Part 11 mode): names with scrypt password hashes.
    public var signers: [Signer] = []

    /// A person who signs configuration changes, with the hash of their password.
    public struct Signer: Sendable, Equatable {
        public var name: String
        public var passwordHash: String
    }

    public init(socket: String, group: String, historyDirectory: String, history: Int) {
        self.socket = socket
        self.group = group
        self.historyDirectory = historyDirectory
        self.history = history
    }
}

/// Identity of this gateway in the plant.
public struct GatewayConfig: Sendable, Equatable {
    /// Unique name of the gateway, e.g. its asset tag; also the MQTT client id by default.
    public var id: String
    public var hierarchy: ISA95Hierarchy
    /// Global write policy: north writes are refused unless this is true.
    public var writesEnabled: Bool
    /// Hash-chained audit trail file; nil records audit events in the log only.
    public var auditFile: String?
    /// 21 CFR Part 11 mode: every write and every commit needs a reason, commits an electronic
    /// signature (a signer's name and password), and the audit trail is required.
    public var part11 = false
}

/// The ISA-95 equipment hierarchy (enterprise/site/area/line/cell) used to
/// build tag paths and MQTT topics. Levels left out are skipped.
public struct ISA95Hierarchy: Sendable, Equatable {
    public var enterprise: String
    public var site: String?
    public var area: String?
    public var line: String?
    public var cell: String?

    public var levels: [String] { [enterprise, site, area, line, cell].compactMap { $0 } }

    /// `enterprise/site/area/line/cell/device/tag`
    public func path(device: String, tag: String) -> String {
        (levels + [device, tag]).joined(separator: "/")
    }
}

/// How to reach the MQTT broker and what to publish.
public struct MQTTConfig: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var clientID: String
    public var username: String?
    public var password: String?
    /// QoS of value publications (0, 1 or 2).
    public var qos: Int
    public var retain: Bool
    /// First topic level, before the ISA-95 path.
    public var topicPrefix: String
    public var keepaliveSeconds: Int
    /// Reconnect backoff bounds.
    public var reconnectMinSeconds: Int
    public var reconnectMaxSeconds: Int
    /// What is published: plain JSON per tag, or a Sparkplug B edge node.
    public var format: MQTTFormat
    /// Store-and-forward journal; nil keeps changes only in memory.
    public var journal: JournalConfig?
    /// TLS to the broker; nil for plain TCP.
    public var tls: MQTTTLSConfig?
    /// false: a persistent session (the broker keeps subscriptions and QoS 1 messages across reconnects).
    public var cleanSession: Bool
    /// Backup brokers, tried in order after the current one stays unreachable for `failoverSeconds`.
    public var backups: [BrokerEndpoint]
    public var failoverSeconds: Int
    /// Devices go by their equipment id (`identity:`) in topics, not by their name.
    public var topicsByEquipment: Bool = false
}

public struct BrokerEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// TLS settings of a broker connection.
public struct MQTTTLSConfig: Sendable, Equatable {
    /// CA certificate(s) that sign the broker's certificate (PEM).
    public var caFile: String
    /// Client certificate and key (PEM) when the broker asks for one.
    public var certFile: String?
    public var keyFile: String?
    /// Skip the check that the broker's certificate names `host` (not for production).
    public var insecure: Bool
}

/// Where and how changes are kept while the broker cannot take them.
public struct JournalConfig: Sendable, Equatable {
    public enum Sync: Sendable, Equatable { case always, interval(ms: Int), never }
    public var directory: String
    public var maxBytes: Int
    public var segmentBytes: Int
    public var sync: Sync
}

public enum MQTTFormat: Sendable, Equatable {
    case json
    case sparkplug(SparkplugConfig)
}

/// Sparkplug B 3.0 edge node identity (topics spBv1.0/<group>/…/<edge node>[/<device>]).
public struct SparkplugConfig: Sendable, Equatable {
    public var groupId: String
    public var edgeNodeId: String
    /// When set, publish only while this primary host application says it is online (STATE).
    public var primaryHostId: String?
}

/// One bus: a Modbus TCP connection or an RS-485 line, polled by one thread.
public struct BusConfig: Sendable, Equatable {
    public enum Link: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case rtu(SerialConfig)
    }

    public var name: String
    public var link: Link
    /// Response timeout per request.
    public var timeoutMs: Int
    /// Reconnect backoff bounds after a lost connection or line.
    public var reconnectMinMs: Int
    public var reconnectMaxMs: Int
    public var devices: [DeviceConfig]
    /// Line in the configuration file, for messages.
    public var line: Int?
}

/// Settings read from a place in the configuration file.
public protocol FileLocated: Equatable {
    var line: Int? { get set }
}

extension FileLocated {
    /// Equal but for the line in the file they came from.
    public func sameSettings(as other: Self) -> Bool {
        var a = self, b = other
        a.line = nil
        b.line = nil
        return a == b
    }
}

extension BusConfig: FileLocated {}

/// Serial line settings of a Modbus RTU bus.
public struct SerialConfig: Sendable, Equatable {
    public enum Parity: String, Sendable, Equatable {
        case none = "N", even = "E", odd = "O"
    }

    public var device: String
    public var baud: Int
    public var parity: Parity
    public var dataBits: Int
    public var stopBits: Int
    /// Put the UART in RS-485 mode (TIOCSRS485) when it supports it.
    public var rs485: Bool
}

/// One Modbus slave/server on a bus.
public struct DeviceConfig: Sendable, Equatable {
    public var name: String
    public var unit: Int
    public var pollMs: Int
    /// Largest gap (registers or bits) a read may span to merge two tags.
    public var maxGap: Int
    /// Largest single read in registers (≤ 125) and bits (≤ 2000).
    public var maxRegisters: Int
    public var maxBits: Int
    public var tags: [TagConfig]
}

/// One tag as configured.
public struct TagConfig: Sendable, Equatable {
    public var name: String
    public var table: ModbusTable
    /// 0-based address on the wire.
    public var address: Int
    public var type: DataType
    public var order: ByteOrder
    /// Bit number for a `bool` in a register table.
    public var bit: Int?
    /// Registers of a string.
    public var length: Int
    public var scaling: Scaling
    public var unit: String?
    public var absoluteDeadband: Double
    public var range: ClosedRange<Double>?
    public var writable: Bool
    /// Force FC15/FC16 even for a single coil/register (devices without FC5/FC6).
    public var writeMultiple: Bool
    /// The tag's code map (`map:`).
    public var codes: CodeMap? = nil

    /// Registers (or bits) this tag spans.
    public var count: Int { table.isBits ? 1 : type.registerCount(stringLength: length) }
}
