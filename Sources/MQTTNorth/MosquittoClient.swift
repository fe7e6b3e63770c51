import CMosquitto
import Glibc
import Logging
import RailgateConfig
import RailgateCore
import Synchronization

/// A libmosquitto client with its own network thread (`mosquitto_loop_start`),
/// which also reconnects with exponential backoff.
///
/// Confinement: `mosquitto*` is thread-safe for publish/disconnect once the
/// library runs in threaded mode; callbacks arrive on libmosquitto's network
/// thread and only touch atomics and the `onConnect` closure.
final class MosquittoClient: @unchecked Sendable {
    private let handle: OpaquePointer
    private let connectedFlag = Atomic<Bool>(false)
    /// Message ids published at QoS ≥ 1 and not yet acknowledged (PUBACK/PUBCOMP),
    /// and acknowledgements that overtook the recording of their id.
    private let unacknowledged = Mutex<(pending: Set<Int32>, early: Set<Int32>)>(([], []))
    /// Called on the network thread after each CONNACK (rc 0) and each
    /// lost connection (connected = false); `code` is the CONNACK or disconnect reason.
    private let onStateChange: @Sendable (_ connected: Bool, _ code: Int32) -> Void
    /// libmosquitto's own warnings and errors (TLS failures, refused
    /// connections), forwarded to the log once per distinct message.
    var onLibraryMessage: (@Sendable (String) -> Void)?
    private let lastLibraryMessage = Mutex<String>("")

    /// Called on the network thread for every message received on a subscription.
    private let onMessage: @Sendable (_ topic: String, _ payload: [UInt8]) -> Void

    private static let libraryReady: Bool = {
        mosquitto_lib_init()
        return true
    }()

    struct Failure: Error, CustomStringConvertible {
        var code: Int32
        var operation: String
        var description: String { "\(operation): \(String(cString: mosquitto_strerror(code)))" }
    }

    init(clientID: String, cleanSession: Bool = true, onStateChange: @escaping @Sendable (Bool, Int32) -> Void,
         onMessage: @escaping @Sendable (String, [UInt8]) -> Void = { _, _ in }) throws(Failure) {
        _ = Self.libraryReady
        self.onStateChange = onStateChange
        self.onMessage = onMessage
        guard let handle = mosquitto_new(clientID, cleanSession, nil) else {
            throw Failure(code: Int32(MOSQ_ERR_NOMEM.rawValue), operation: "create MQTT client")
        }
        self.handle = handle
        // Changes and command results go out at once: with Nagle's algorithm a message behind
        // an unacknowledged one waits for the broker's delayed ACK (tens of ms).
        mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1)
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_connect_callback_set(handle) { _, context, code in
            guard let context else { return }
            let client = Unmanaged<MosquittoClient>.fromOpaque(context).takeUnretainedValue()
            client.connectedFlag.store(code == 0, ordering: .releasing)
            client.onStateChange(code == 0, code)
        }
        mosquitto_publish_callback_set(handle) { _, context, mid in
            guard let context else { return }
            let client = Unmanaged<MosquittoClient>.fromOpaque(context).takeUnretainedValue()
            client.unacknowledged.withLock { state in
                if state.pending.remove(mid) == nil { state.early.insert(mid) }
            }
        }
        mosquitto_log_callback_set(handle) { _, context, level, text in
            guard let context, let text, level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING) != 0 else { return }
            let client = Unmanaged<MosquittoClient>.fromOpaque(context).takeUnretainedValue()
            let message = String(cString: text)
            let isNew = client.lastLibraryMessage.withLock { last in
                defer { last = message }
                return last != message
            }
            if isNew { client.onLibraryMessage?(message) }
        }
        mosquitto_message_callback_set(handle) { _, context, message in
            guard let context, let message, let topic = message.pointee.topic else { return }
            let client = Unmanaged<MosquittoClient>.fromOpaque(context).takeUnretainedValue()
            let length = Int(message.pointee.payloadlen)
            let payload = length > 0 && message.pointee.payload != nil
                ? Array(UnsafeRawBufferPointer(start: message.pointee.payload, count: length)) : []
            client.onMessage(String(cString: topic), payload)
        }
        mosquitto_disconnect_callback_set(handle) { _, context, code in
            guard let context else { return }
            let client = Unmanaged<MosquittoClient>.fromOpaque(context).takeUnretainedValue()
            client.connectedFlag.store(false, ordering: .releasing)
            client.onStateChange(false, code)
        }
    }

    deinit {
        mosquitto_destroy(handle)
    }

    var isConnected: Bool { connectedFlag.load(ordering: .acquiring) }

    func setCredentials(username: String, password: String?) throws(Failure) {
        try check(mosquitto_username_pw_set(handle, username, password), "set MQTT credentials")
    }

    /// TLS with the broker's CA, optionally a client certificate; the
    /// broker's certificate must name the host unless `insecure`.
    func setTLS(_ tls: MQTTTLSConfig) throws(Failure) {
        for file in [tls.caFile, tls.certFile, tls.keyFile].compactMap({ $0 }) where access(file, R_OK) != 0 {
            throw Failure(code: Int32(MOSQ_ERR_INVAL.rawValue),
                          operation: "TLS file \(file) is not readable (\(String(cString: strerror(errno))))")
        }
        try check(mosquitto_tls_set(handle, tls.caFile, nil, tls.certFile, tls.keyFile, nil), "set up TLS")
        try check(mosquitto_tls_insecure_set(handle, tls.insecure), "set TLS hostname verification")
    }

    /// Applies credentials and TLS from the configuration. A TLS setup that
    /// fails (unreadable files) is logged and returns false: the caller keeps
    /// running without connecting, so polling goes on and the journal fills.
    func configure(_ config: MQTTConfig, logger: Logger) throws(Failure) -> Bool {
        let broker = "\(config.host):\(config.port)"
        onLibraryMessage = { message in logger.warning("libmosquitto: \(message)", metadata: ["broker": "\(broker)"]) }
        if let username = config.username {
            try setCredentials(username: username, password: config.password)
        }
        guard let tls = config.tls else { return true }
        do {
            try setTLS(tls)
            return true
        } catch {
            logger.error("MQTT TLS setup failed; not connecting (changes go to the journal if one is configured)",
                         metadata: ["broker": "\(config.host):\(config.port)", "error": "\(error)"])
            return false
        }
    }

    /// Last will: published by the broker if the gateway vanishes.
    func setWill(topic: String, payload: [UInt8], qos: Int, retain: Bool) throws(Failure) {
        let rc = payload.withUnsafeBytes {
            mosquitto_will_set(handle, topic, Int32($0.count), $0.baseAddress, Int32(qos), retain)
        }
        try check(rc, "set MQTT last will on \(topic)")
    }

    /// Starts the network thread and connects in the background; reconnects
    /// on loss with a delay doubling from `minDelay` to `maxDelay` seconds.
    func start(host: String, port: Int, keepalive: Int, minDelay: Int, maxDelay: Int) throws(Failure) {
        try check(mosquitto_reconnect_delay_set(handle, UInt32(minDelay), UInt32(maxDelay), true),
                  "set MQTT reconnect delay")
        // The network thread first, then the connect: in the other order a
        // broker that is down at start is never retried (libmosquitto 2.0).
        try check(mosquitto_loop_start(handle), "start MQTT network thread")
        let rc = mosquitto_connect_async(handle, host, Int32(port), Int32(keepalive))
        // A first connect that fails (refused, unreachable, a TLS handshake the
        // broker's certificate fails) is retried by the network thread like any
        // loss: only arguments libmosquitto rejects outright are fatal.
        if rc == MOSQ_ERR_INVAL.rawValue {
            try check(rc, "connect to MQTT broker \(host):\(port)")
        } else if rc != MOSQ_ERR_SUCCESS.rawValue {
            onStateChange(false, rc)
        }
    }

    /// Starts with the configuration's broker, keep-alive and reconnect delays.
    func start(_ config: MQTTConfig) throws(Failure) {
        try start(host: config.host, port: config.port, keepalive: config.keepaliveSeconds,
                  minDelay: config.reconnectMinSeconds, maxDelay: config.reconnectMaxSeconds)
    }

    /// Points the client at another broker; the network thread connects to it
    /// on its next attempt.
    func switchBroker(host: String, port: Int, keepalive: Int) {
        _ = mosquitto_connect_async(handle, host, Int32(port), Int32(keepalive))
    }

    /// Returns the libmosquitto result code (0 on success).
    func publish(topic: String, payload: UnsafeRawBufferPointer, qos: Int, retain: Bool) -> Int32 {
        // withCString lends a native string's own bytes; the implicit conversion copied them.
        topic.withCString { publish(topic: $0, payload: payload, qos: qos, retain: retain) }
    }

    /// `publish` with the topic as a NUL-terminated C string.
    func publish(topic: UnsafePointer<CChar>, payload: UnsafeRawBufferPointer, qos: Int, retain: Bool) -> Int32 {
        mosquitto_publish(handle, nil, topic, Int32(payload.count), payload.baseAddress, Int32(qos), retain)
    }

    /// Publishes and remembers the message id until the broker acknowledges
    /// it (QoS ≥ 1). Returns the message id, or nil when libmosquitto refused.
    func publishTracked(topic: String, payload: UnsafeRawBufferPointer, qos: Int, retain: Bool) -> Int32? {
        topic.withCString { publishTracked(topic: $0, payload: payload, qos: qos, retain: retain) }
    }

    /// `publishTracked` with the topic as a NUL-terminated C string.
    func publishTracked(topic: UnsafePointer<CChar>, payload: UnsafeRawBufferPointer, qos: Int, retain: Bool) -> Int32? {
        var mid: Int32 = 0
        let rc = mosquitto_publish(handle, &mid, topic, Int32(payload.count), payload.baseAddress, Int32(qos), retain)
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { return nil }
        if qos > 0 {
            unacknowledged.withLock { state in
                if state.early.remove(mid) == nil { state.pending.insert(mid) }
            }
        }
        return mid
    }

    /// Whether every tracked message up to now has been acknowledged.
    var allAcknowledged: Bool { unacknowledged.withLock { $0.pending.isEmpty } }

    /// Forgets tracked ids (after a lost connection: the batch is sent again).
    func forgetUnacknowledged() { unacknowledged.withLock { $0 = ([], []) } }

    /// Waits (up to 10 s, while connected) until the broker acknowledged
    /// every tracked message; QoS 0 has nothing to wait for. On false the
    /// tracked ids are forgotten, and the caller sends its batch again later.
    func acknowledgedAll(qos: Int) -> Bool {
        guard qos > 0 else { return true }
        let deadline = RailgateCore.Clock.monotonicNs() + 10_000_000_000
        while !allAcknowledged && isConnected && RailgateCore.Clock.monotonicNs() < deadline { usleep(1000) }
        if allAcknowledged { return true }
        forgetUnacknowledged()
        return false
    }

    /// Moves to the next broker when the current one has been unreachable
    /// for the failover time (called by the publishing thread each wake-up).
    func failoverIfDue(_ failover: inout BrokerFailover, keepalive: Int, logger: Logger) {
        guard let next = failover.check(connected: isConnected, now: RailgateCore.Clock.monotonicNs()) else { return }
        logger.warning("MQTT broker unreachable; switching", metadata: ["to": "\(next.host):\(next.port)"])
        switchBroker(host: next.host, port: next.port, keepalive: keepalive)
    }

    /// Subscribes (again after each reconnect: call it from the connect callback).
    @discardableResult
    func subscribe(_ topic: String, qos: Int) -> Int32 {
        mosquitto_subscribe(handle, nil, topic, Int32(qos))
    }

    /// Sends DISCONNECT (the broker then discards the last will) and stops
    /// the network thread.
    func stop() {
        mosquitto_disconnect(handle)
        mosquitto_loop_stop(handle, false)
    }

    static func message(_ code: Int32) -> String { String(cString: mosquitto_strerror(code)) }

    private func check(_ rc: Int32, _ operation: String) throws(Failure) {
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw Failure(code: rc, operation: operation) }
    }
}
