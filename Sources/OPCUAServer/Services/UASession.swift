import RailgateConfig
import RailgateHistory

/// One client session (Part 4 §5.6). Lives on the server's event loop.
public final class UASession {
    public let sessionId: NodeId
    public let authenticationToken: NodeId
    public let name: String
    /// Revised timeout; the session closes when no request arrives for this long.
    public let timeoutMs: Double
    public internal(set) var channelId: UInt32
    public internal(set) var isActivated = false
    /// Who the session acts for: `anonymous` or the user name.
    public internal(set) var identity = "anonymous"
    /// Read-only, or operator (may write writable tags).
    public internal(set) var role = OPCUAConfig.Role.readOnly
    var lastActivity: Int64
    /// The nonce of the last CreateSession or ActivateSession response: the
    /// client signs it (secured channels) and appends it to an encrypted password.
    var serverNonce: [UInt8] = []
    /// The security of the channel the session was created on: it may move
    /// only to a channel with the same policy and client certificate.
    var securityPolicy = SecurityPolicy.none
    var clientCertificate: [UInt8]?
    /// Browse continuation points: id → remaining references.
    var continuationPoints: [[UInt8]: [ReferenceDescription]] = [:]
    var nextContinuation: UInt32 = 0
    /// HistoryRead continuation points: id → the rest of the read.
    var historyContinuations: [[UInt8]: RawReadPlan] = [:]
    var subscriptions: [UInt32: UASubscription] = [:]
    /// Publish requests waiting for a notification or keep-alive (oldest first).
    var publishQueue: [PendingPublish] = []

    init(sessionId: NodeId, authenticationToken: NodeId, name: String, timeoutMs: Double, channelId: UInt32, now: Int64) {
        self.sessionId = sessionId
        self.authenticationToken = authenticationToken
        self.name = name
        self.timeoutMs = timeoutMs
        self.channelId = channelId
        lastActivity = now
    }

    func isExpired(now: Int64) -> Bool {
        Double(now - lastActivity) / 1_000_000 > timeoutMs
    }
}
