import Logging
import RailgateConfig
import RailgateCore
import Synchronization

/// Tag changes as JSON (`JSONPayload`) on topics derived from the ISA-95 path:
/// `<topic_prefix>/<enterprise>/<site>/<area>/<line>/<cell>/<device>/<tag>`; with
/// `device_topics: equipment`, a device with an identity goes by its work center and
/// equipment id instead: `…/<cell>/<work center>/<equipment id>/<tag>`.
///
/// On every (re)connect it publishes `online` on the status topic
/// `<topic_prefix>/status/<gateway id>` and, without a journal, the current value
/// of every tag, so a subscriber is complete without waiting for changes (with a
/// journal, the journal's replay brings it up to date). The broker publishes the
/// retained last will `offline` if the gateway vanishes.
final class JSONFormat: MQTTNorthFormat {
    let name = "mqtt"
    let statusTopic: String
    private let config: MQTTConfig
    private let table: TagTable
    /// Every tag's topic, NUL-terminated, one after the other: a `String` a tag took twice the
    /// memory (80 bytes at 10 000 tags).
    private let topicBytes: [CChar]
    /// Where each tag's topic begins in `topicBytes`.
    private let topicStarts: [Int]
    /// Each tag's device and its ISA-95 identity, published in the tag's messages.
    private let devices: DeviceTable
    /// Set by libmosquitto's thread on connect, taken by the publishing thread.
    private let connected = Atomic<Bool>(false)
    /// The audit trail's newest entry, and the one last published (publishing thread only).
    private let auditHead: (@Sendable () -> (seq: UInt64, hash: String))?
    private let publishedAudit = Mutex<UInt64?>(nil)
    let auditTopic: String
    /// The payload being encoded, kept from message to message (publishing thread only; the lock
    /// is never contended).
    private let payload = Mutex<[UInt8]>([])

    init(config: MQTTConfig, gateway: GatewayConfig, table: TagTable, devices: DeviceTable,
         auditHead: (@Sendable () -> (seq: UInt64, hash: String))? = nil) {
        self.auditHead = auditHead
        self.config = config
        self.table = table
        self.devices = devices
        let topics = table.tags.enumerated().map { index, tag in
            guard config.topicsByEquipment, let identity = devices.identities[devices.deviceOfTag[index]] else {
                return "\(config.topicPrefix)/\(tag.path)"
            }
            let levels = gateway.hierarchy.levels + [identity.workCenter, identity.equipmentId, tag.name].compactMap { $0 }
            return "\(config.topicPrefix)/\(levels.joined(separator: "/"))"
        }
        var topicBytes: [CChar] = []
        topicBytes.reserveCapacity(topics.reduce(0) { $0 + $1.utf8.count + 1 })
        topicStarts = topics.map { topic in
            defer {
                topicBytes.append(contentsOf: topic.utf8.map { CChar(bitPattern: $0) })
                topicBytes.append(0)
            }
            return topicBytes.count
        }
        self.topicBytes = topicBytes
        statusTopic = "\(config.topicPrefix)/status/\(gateway.id)"
        auditTopic = "\(statusTopic)/audit"
    }

    var counters: [StatusCounter] { [] }

    func will() -> NorthMessage {
        NorthMessage(topic: statusTopic, payload: Array("offline".utf8), qos: 1, retain: true)
    }

    func goodbye() -> NorthMessage { will() }

    func connectionChanged(_ connected: Bool, code: Int32, link: MQTTNorthLink) {
        let broker = "\(config.host):\(config.port)"
        if connected {
            link.logger.info("MQTT connected", metadata: ["broker": "\(broker)"])
            self.connected.store(true, ordering: .releasing)
        } else if code == 0 {
            link.logger.info("MQTT disconnected", metadata: ["broker": "\(broker)"])
        } else {
            link.logger.warning("MQTT connection lost; reconnecting",
                                metadata: ["broker": "\(broker)", "reason": "\(MosquittoClient.message(code))"])
        }
    }

    func received(topic: String, payload: [UInt8], link: MQTTNorthLink) {}

    func beginTurn(_ link: MQTTNorthLink) -> NorthTurn {
        guard link.isConnected, connected.exchange(false, ordering: .acquiringAndReleasing) else {
            publishAuditHead(link, force: false)
            return NorthTurn(mayPublish: true, sendsState: false)
        }
        link.publish(statusTopic, text: "online", qos: config.qos, retain: true)
        publishAuditHead(link, force: true)
        return NorthTurn(mayPublish: true, sendsState: config.journal == nil)
    }

    /// `{"seq":N,"hash":"…"}` of the newest audit entry, retained, when it changed (or on connect).
    private func publishAuditHead(_ link: MQTTNorthLink, force: Bool) {
        guard let auditHead, link.isConnected else { return }
        let head = auditHead()
        guard force || head.seq != publishedAudit.withLock({ $0 }) else { return }
        link.publish(auditTopic, text: "{\"seq\":\(head.seq),\"hash\":\"\(head.hash)\"}", qos: config.qos, retain: true)
        publishedAudit.withLock { $0 = head.seq }
    }

    func sendState(_ link: MQTTNorthLink) {
        for (index, state) in table.snapshot().enumerated() where state.sample.quality.reason != .waitingForInitialData {
            publish(index: index, sample: state.sample, text: state.text, tracked: false, link: link)
        }
    }

    func publishChanges(_ changes: [Change], tracked: Bool, link: MQTTNorthLink) {
        for change in changes where Int(change.sample.tag) < topicStarts.count {
            publish(index: Int(change.sample.tag), sample: change.sample, text: change.text, tracked: tracked, link: link)
        }
    }

    func publishHistory(_ changes: [Change], link: MQTTNorthLink) {
        publishChanges(changes, tracked: true, link: link)
    }

    /// The identity of tag `index`'s device, if it has one.
    private func identity(of index: Int) -> EquipmentIdentity? {
        guard devices.deviceOfTag.indices.contains(index) else { return nil }
        let device = devices.deviceOfTag[index]
        return devices.identities.indices.contains(device) ? devices.identities[device] : nil
    }

    private func publish(index: Int, sample: Sample, text: String?, tracked: Bool, link: MQTTNorthLink) {
        payload.withLock { payload in
            payload.removeAll(keepingCapacity: true)
            JSONPayload.encode(tag: table.tags[index], sample: sample, text: text, identity: identity(of: index), into: &payload)
            payload.withUnsafeBytes { payload in
                topicBytes.withUnsafeBufferPointer { topics in
                    guard let base = topics.baseAddress else { return }
                    link.publish(cTopic: base + topicStarts[index], payload, qos: config.qos, retain: config.retain,
                                 tracked: tracked)
                }
            }
        }
    }
}
