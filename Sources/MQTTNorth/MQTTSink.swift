import RailgateCore

/// A north MQTT connection fed by the tag engine: JSON or Sparkplug B.
public protocol MQTTSink: AnyObject, Sendable {
    /// The engine's queue of changes to this sink.
    var queue: ChangeQueue { get }
    /// Connects in the background and starts publishing.
    func start() throws
    /// Publishes what is queued, says goodbye (status/NDEATH) and disconnects.
    func stop()
    /// Counters for the log at stop.
    var statsLine: String { get }
}
