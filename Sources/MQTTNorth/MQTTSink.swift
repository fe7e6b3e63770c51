import Logging
import RailgateConfig
import RailgateCore

/// A north MQTT connection fed by the tag engine: JSON or Sparkplug B.
public protocol MQTTSink: AnyObject, Sendable {
    /// The engine's queue of changes to this sink.
    var queue: ChangeQueue { get }
    /// Connects in the background and starts publishing.
    func start() throws
    /// Publishes what is queued, says goodbye (status/NDEATH) and disconnects.
    func stop()
    /// Its broker, connection and counters, for the console and the log.
    func status() -> NorthStatus
}

extension MQTTSink {
    /// `published=12 failed=0 …`, for the log's totals and the systemd status.
    public var statsLine: String { status().countersText }
}

/// The north connection a configuration asks for: JSON topics per tag, or a Sparkplug B edge node.
public enum MQTTNorth {
    /// - Parameter auditHead: the audit trail's newest entry (sequence number, hash), published
    ///   retained on `<prefix>/status/<gateway id>/audit` (JSON format) so that a trail cut short
    ///   on the gateway shows against the broker's copy.
    public static func sink(config: MQTTConfig, gateway: GatewayConfig, table: TagTable, devices: DeviceTable,
                            writes: WriteRouter?, logger: Logger,
                            auditHead: (@Sendable () -> (seq: UInt64, hash: String))? = nil) throws -> any MQTTSink {
        let format: any MQTTNorthFormat = switch config.format {
        case .json: JSONFormat(config: config, gateway: gateway, table: table, devices: devices, auditHead: auditHead)
        case .sparkplug(let sparkplug):
            SparkplugEdgeNode(config: config, sparkplug: sparkplug, table: table, devices: devices, writes: writes,
                              logger: logger)
        }
        return try MQTTNorthLink(config: config, table: table, format: format, logger: logger)
    }
}
