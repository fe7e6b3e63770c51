import Foundation
import Logging
import RailgateConfig
import RailgateCore
import Synchronization

/// Counters of the MQTT sink.
public struct MQTTStats: Sendable, Equatable {
    public var published: Int
    /// Publications the client refused (e.g. oversize), and changes not sent
    /// because the broker was unreachable (their latest value is sent again
    /// on reconnect).
    public var failed: Int
    public var droppedOffline: Int
    /// Changes lost because the engine's queue to this sink was full.
    public var queueOverruns: Int
    public var connected: Bool
}

/// Publishes tag changes as JSON on topics derived from the ISA-95 path:
/// `<topic_prefix>/<enterprise>/<site>/<area>/<line>/<cell>/<device>/<tag>`.
///
/// Runs on its own thread (`rg-mqtt`), draining its `ChangeQueue`; libmosquitto
/// runs the network I/O and reconnects. On every (re)connect it publishes
/// `online` on the status topic and the current value of every tag, so a
/// subscriber is complete without waiting for changes. The broker publishes
/// the retained last will `offline` if the gateway vanishes.
public final class MQTTPublisher: @unchecked Sendable, MQTTSink {
    public let config: MQTTConfig
    public let queue: ChangeQueue
    public let statusTopic: String
    private let table: TagTable
    private let topics: [String]
    private let logger: Logger
    private let client: MosquittoClient

    private let running = Atomic<Bool>(false)
    private let needsFullState = Flag()
    private let finished = Wakeup()
    private let counters = Mutex(MQTTStats(published: 0, failed: 0, droppedOffline: 0, queueOverruns: 0, connected: false))

    public init(config: MQTTConfig, gateway: GatewayConfig, table: TagTable, logger: Logger) throws {
        self.config = config
        self.table = table
        self.logger = logger
        queue = ChangeQueue(name: "mqtt")
        topics = table.tags.map { "\(config.topicPrefix)/\($0.path)" }
        statusTopic = "\(config.topicPrefix)/status/\(gateway.id)"
        let queue = self.queue
        let needsFullState = self.needsFullState
        let host = "\(config.host):\(config.port)"
        client = try MosquittoClient(clientID: config.clientID) { connected, code in
            if connected {
                logger.info("MQTT connected", metadata: ["broker": "\(host)"])
                needsFullState.value.store(true, ordering: .releasing)
                queue.wakeup.signal()
            } else if code == 0 {
                logger.info("MQTT disconnected", metadata: ["broker": "\(host)"])
            } else {
                logger.warning("MQTT connection lost; reconnecting",
                               metadata: ["broker": "\(host)", "reason": "\(MosquittoClient.message(code))"])
            }
        }
        if let username = config.username {
            try client.setCredentials(username: username, password: config.password)
        }
        try client.setWill(topic: statusTopic, payload: Array("offline".utf8), qos: 1, retain: true)
    }

    public var stats: MQTTStats {
        var stats = counters.withLock { $0 }
        stats.queueOverruns = queue.overruns
        stats.connected = client.isConnected
        return stats
    }

    public var statsLine: String {
        let s = stats
        return "published=\(s.published) failed=\(s.failed) droppedOffline=\(s.droppedOffline) queueOverruns=\(s.queueOverruns)"
    }

    /// Connects in the background and starts the publishing thread.
    public func start() throws {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try client.start(host: config.host, port: config.port, keepalive: config.keepaliveSeconds,
                         minDelay: config.reconnectMinSeconds, maxDelay: config.reconnectMaxSeconds)
        let thread = Thread { [self] in
            Clock.nameCurrentThread("rg-mqtt")
            run()
            finished.signal()
        }
        thread.start()
    }

    /// Publishes what is queued, marks the gateway offline and disconnects.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        queue.wakeup.signal()
        finished.wait(timeoutNs: 5_000_000_000)
        if client.isConnected {
            publish(topic: statusTopic, payload: "offline", retain: true)
        }
        client.stop()
    }

    private func run() {
        while running.load(ordering: .acquiring) {
            queue.wakeup.wait(timeoutNs: 500_000_000)
            publishPending()
        }
        publishPending()
    }

    private func publishPending() {
        if needsFullState.value.exchange(false, ordering: .acquiringAndReleasing) {
            publish(topic: statusTopic, payload: "online", retain: true)
            // Everything queued is older than the state about to be sent.
            queue.ring.drain { _, _ in }
            for (index, state) in table.snapshot().enumerated()
            where state.sample.quality.reason != .waitingForInitialData {
                publishChange(index: index, sample: state.sample, text: state.text)
            }
            return
        }
        queue.ring.drain { sample, _ in
            let index = Int(sample.tag)
            let text = table.tags[index].dataType == .string ? table.state(index).text : nil
            publishChange(index: index, sample: sample, text: text)
        }
    }

    private func publishChange(index: Int, sample: Sample, text: String?) {
        guard client.isConnected else {
            counters.withLock { $0.droppedOffline += 1 }
            return
        }
        let payload = JSONPayload.encode(tag: table.tags[index], sample: sample, text: text)
        publish(topic: topics[index], payload: payload, retain: config.retain)
    }

    private func publish(topic: String, payload: String, retain: Bool) {
        var payload = payload
        let rc = payload.withUTF8 { bytes in
            client.publish(topic: topic, payload: UnsafeRawBufferPointer(bytes), qos: config.qos, retain: retain)
        }
        counters.withLock { stats in
            if rc == 0 {
                stats.published += 1
            } else {
                stats.failed += 1
            }
        }
        if rc != 0 {
            logger.debug("MQTT publish failed", metadata: ["topic": "\(topic)", "error": "\(MosquittoClient.message(rc))"])
        }
    }

    /// Set by libmosquitto's thread on connect, taken by the publishing thread.
    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }
}
