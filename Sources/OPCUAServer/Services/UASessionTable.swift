import RailgateCore

/// What an open secure channel was established with, as its sessions see it: read from
/// `SecureChannel` when the client opens or renews the channel.
struct ChannelPeer {
    var policy: SecurityPolicy
    var mode: MessageSecurityMode
    /// The client's certificate (DER) on a secured channel.
    var clientCertificate: [UInt8]?
    var clientKey: RSAPublicKey?

    static let unsecured = ChannelPeer(policy: .none, mode: .none, clientCertificate: nil, clientKey: nil)

    var isSecured: Bool { policy != .none }
}

extension SecureChannel {
    /// The channel's security as its sessions see it.
    var peer: ChannelPeer {
        ChannelPeer(policy: policy, mode: mode, clientCertificate: clientCertificate, clientKey: clientKey)
    }
}

/// The server's sessions and the rules of Part 4 §5.6 that decide about them, without I/O:
/// which session makes room for a new one, whether a session may be created or activated on
/// a channel, which have timed out. `UAServerCore` drives it: it signs and verifies, logs,
/// audits, answers and ends what the table says to end.
struct UASessionTable {
    private(set) var byToken: [NodeId: UASession] = [:]
    /// `opcua.max_sessions`.
    let capacity: Int

    /// A session never activated holds its slot this long before it may be evicted.
    static let activationGraceNs: Int64 = 10_000_000_000

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { byToken.count }
    var isEmpty: Bool { byToken.isEmpty }
    var values: Dictionary<NodeId, UASession>.Values { byToken.values }
    var tokens: [NodeId] { Array(byToken.keys) }
    subscript(token: NodeId) -> UASession? { byToken[token] }

    mutating func insert(_ session: UASession) { byToken[session.authenticationToken] = session }

    mutating func remove(_ token: NodeId) -> UASession? { byToken.removeValue(forKey: token) }

    // MARK: Decisions

    /// Whether a CreateSession may have a slot.
    enum Admission: Equatable {
        case admit
        /// Every slot is taken: close this session first. Among the sessions whose connection
        /// is gone, or that were never activated within the grace time, the one longest unused.
        case evict(NodeId, connectionGone: Bool)
        /// Every slot is taken by a session in use: BadTooManySessions.
        case full
    }

    /// `isOpen` tells whether a channel is still open.
    func admission(now: Int64, isOpen: (UInt32) -> Bool) -> Admission {
        guard byToken.count >= capacity else { return .admit }
        let candidates = byToken.values.filter { session in
            !isOpen(session.channelId) || (!session.isActivated && now - session.lastActivity > Self.activationGraceNs)
        }
        guard let oldest = candidates.min(by: { $0.lastActivity < $1.lastActivity }) else { return .full }
        return .evict(oldest.authenticationToken, connectionGone: !isOpen(oldest.channelId))
    }

    /// Part 4 §5.6.2 on a secured channel: the client sends a nonce of at least 32 bytes and,
    /// if it names a certificate, the one its channel was opened with. Nil: allowed (the
    /// server then signs the channel's certificate and the nonce).
    static func creationRefusal(clientNonce: [UInt8]?, clientCertificate: [UInt8]?, on channel: ChannelPeer) -> StatusCode? {
        guard channel.isSecured else { return nil }
        guard let clientNonce, clientNonce.count >= 32 else { return .badNonceInvalid }
        guard clientCertificate == nil || clientCertificate == channel.clientCertificate else {
            return .badCertificateInvalid
        }
        return nil
    }

    /// Why a session may not be activated on a channel, if it may not: it moves only to a
    /// channel with the policy and client certificate it was created on.
    static func activationRefusal(of session: UASession, on channel: ChannelPeer) -> StatusCode? {
        guard channel.policy == session.securityPolicy, channel.clientCertificate == session.clientCertificate else {
            return .badSecurityChecksFailed
        }
        return nil
    }

    /// A request naming a session on another channel than its own: only ActivateSession may
    /// (that is how a session moves to a new connection).
    static func channelRefusal(of session: UASession, channelId: UInt32, isActivation: Bool) -> StatusCode? {
        session.channelId == channelId || isActivation ? nil : .badSecureChannelIdInvalid
    }

    /// Sessions not used within their timeout (Part 4 §5.6.2), to be closed.
    func expired(now: Int64) -> [NodeId] {
        byToken.values.filter { $0.isExpired(now: now) }.map(\.authenticationToken)
    }

    /// Sessions whose channel is `channelId`.
    func sessions(onChannel channelId: UInt32) -> [UASession] {
        byToken.values.filter { $0.channelId == channelId }
    }
}
