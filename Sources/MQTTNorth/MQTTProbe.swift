import Glibc
import Logging
import RailgateConfig
import RailgateCore
import Synchronization

/// The console's `test mqtt`: a separate, short-lived connection to the
/// configured broker (same TLS and credentials) that publishes one QoS 1
/// message and waits for the broker's acknowledgement.
public enum MQTTProbe {
    public static func run(_ config: MQTTConfig, gatewayID: String, timeoutSeconds: Double = 5,
                           logger: Logger) -> (ok: Bool, text: String) {
        let broker = "\(config.host):\(config.port)"
        let lastCode = Mutex<Int32>(0)
        let client: MosquittoClient
        do {
            client = try MosquittoClient(clientID: "\(config.clientID)-test-\(getpid())", cleanSession: true,
                                         onStateChange: { connected, code in if !connected { lastCode.withLock { $0 = code } } })
            guard try client.configure(config, logger: logger) else {
                return (false, "broker \(broker): the TLS settings cannot be used (see show log)")
            }
            try client.start(host: config.host, port: config.port, keepalive: 10, minDelay: 1, maxDelay: 1)
        } catch {
            return (false, "broker \(broker): \(error)")
        }
        defer { client.stop() }
        let started = RailgateCore.Clock.monotonicNs()
        let deadline = started + Int64(timeoutSeconds * 1e9)
        while !client.isConnected && RailgateCore.Clock.monotonicNs() < deadline { usleep(5000) }
        guard client.isConnected else {
            let code = lastCode.withLock { $0 }
            let why = code == 0 ? "no answer" : MosquittoClient.message(code)
            return (false, "broker \(broker): not connected within \(Int(timeoutSeconds)) s (\(why))")
        }
        let connected = RailgateCore.Clock.monotonicNs()
        let topic = "\(config.topicPrefix)/status/\(gatewayID)/test"
        let payload = Array("railgate test \(UTCText.now())".utf8)
        let sent = payload.withUnsafeBytes { client.publishTracked(topic: topic, payload: $0, qos: 1, retain: false) }
        guard sent != nil else { return (false, "broker \(broker): connected, but the test message was not accepted") }
        while !client.allAcknowledged && RailgateCore.Clock.monotonicNs() < deadline { usleep(1000) }
        guard client.allAcknowledged else {
            return (false, "broker \(broker): connected, no acknowledgement for the test message within \(Int(timeoutSeconds)) s")
        }
        let done = RailgateCore.Clock.monotonicNs()
        return (true, "broker \(broker): connected in \((connected - started) / 1_000_000) ms\(config.tls == nil ? "" : " (TLS)"); "
                + "test message on \(topic) acknowledged in \((done - connected) / 1_000_000) ms")
    }
}
