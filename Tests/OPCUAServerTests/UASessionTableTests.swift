import Testing
@testable import OPCUAServer

/// The session rules of Part 4 §5.6 as a table: who makes room, what a secured channel
/// requires at CreateSession and ActivateSession, which sessions time out.
struct UASessionTableTests {
    static let second: Int64 = 1_000_000_000

    static func session(_ number: UInt32, channel: UInt32, activated: Bool = true, lastActivity: Int64,
                        policy: SecurityPolicy = .none, certificate: [UInt8]? = nil, timeoutMs: Double = 60_000) -> UASession {
        let session = UASession(sessionId: NodeId(namespace: 1, .numeric(number)),
                                authenticationToken: NodeId(namespace: 0, .numeric(1000 + number)),
                                name: "s\(number)", timeoutMs: timeoutMs, channelId: channel, now: lastActivity)
        session.isActivated = activated
        session.securityPolicy = policy
        session.clientCertificate = certificate
        return session
    }

    static func token(_ number: UInt32) -> NodeId { NodeId(namespace: 0, .numeric(1000 + number)) }

    @Test func aFullTableEvictsTheLongestUnusedOrphan() {
        let now = 100 * Self.second
        // (sessions as (number, channel, activated, last activity s), open channels, expected)
        let cases: [(String, [(UInt32, UInt32, Bool, Int64)], Set<UInt32>, UASessionTable.Admission)] = [
            ("room left", [(1, 1, true, 10)], [1], .admit),
            ("all in use", [(1, 1, true, 10), (2, 2, true, 20)], [1, 2], .full),
            ("one connection gone", [(1, 1, true, 10), (2, 2, true, 20)], [1], .evict(Self.token(2), connectionGone: true)),
            ("the longest unused of two gone", [(1, 1, true, 30), (2, 2, true, 20)], [], .evict(Self.token(2), connectionGone: true)),
            ("never activated, past the grace", [(1, 1, false, 80), (2, 2, true, 20)], [1, 2],
             .evict(Self.token(1), connectionGone: false)),
            ("never activated, within the grace", [(1, 1, false, 95), (2, 2, true, 20)], [1, 2], .full),
        ]
        for (name, rows, open, expected) in cases {
            var table = UASessionTable(capacity: 2)
            for (number, channel, activated, seconds) in rows {
                table.insert(Self.session(number, channel: channel, activated: activated, lastActivity: seconds * Self.second))
            }
            #expect(table.admission(now: now, isOpen: { open.contains($0) }) == expected, "\(name)")
        }
    }

    @Test func aSecuredChannelWantsANonceAndItsOwnCertificate() {
        let secured = ChannelPeer(policy: .basic256Sha256, mode: .signAndEncrypt, clientCertificate: [1, 2, 3], clientKey: nil)
        let nonce = [UInt8](repeating: 7, count: 32)
        let cases: [(String, [UInt8]?, [UInt8]?, ChannelPeer, StatusCode?)] = [
            ("unsecured: nothing asked", nil, nil, .unsecured, nil),
            ("secured, nonce and no certificate named", nonce, nil, secured, nil),
            ("secured, the channel's certificate", nonce, [1, 2, 3], secured, nil),
            ("secured, no nonce", nil, nil, secured, .badNonceInvalid),
            ("secured, a 31-byte nonce", Array(nonce.dropLast()), nil, secured, .badNonceInvalid),
            ("secured, another certificate", nonce, [9], secured, .badCertificateInvalid),
        ]
        for (name, clientNonce, certificate, channel, expected) in cases {
            #expect(UASessionTable.creationRefusal(clientNonce: clientNonce, clientCertificate: certificate, on: channel) == expected,
                    "\(name)")
        }
    }

    @Test func aSessionMovesOnlyToAChannelAsSecureAsItsOwn() {
        let created = Self.session(1, channel: 1, lastActivity: 0, policy: .basic256Sha256, certificate: [1, 2, 3])
        let cases: [(String, ChannelPeer, StatusCode?)] = [
            ("same policy and client", ChannelPeer(policy: .basic256Sha256, mode: .sign, clientCertificate: [1, 2, 3], clientKey: nil), nil),
            ("unsecured", .unsecured, .badSecurityChecksFailed),
            ("another client", ChannelPeer(policy: .basic256Sha256, mode: .sign, clientCertificate: [4], clientKey: nil),
             .badSecurityChecksFailed),
            ("another policy", ChannelPeer(policy: .aes256Sha256RsaPss, mode: .sign, clientCertificate: [1, 2, 3], clientKey: nil),
             .badSecurityChecksFailed),
        ]
        for (name, channel, expected) in cases {
            #expect(UASessionTable.activationRefusal(of: created, on: channel) == expected, "\(name)")
        }
        #expect(UASessionTable.activationRefusal(of: Self.session(2, channel: 1, lastActivity: 0), on: .unsecured) == nil)
    }

    @Test func onlyActivationMayNameASessionOfAnotherChannel() {
        let session = Self.session(1, channel: 4, lastActivity: 0)
        #expect(UASessionTable.channelRefusal(of: session, channelId: 4, isActivation: false) == nil)
        #expect(UASessionTable.channelRefusal(of: session, channelId: 5, isActivation: false) == .badSecureChannelIdInvalid)
        #expect(UASessionTable.channelRefusal(of: session, channelId: 5, isActivation: true) == nil)
    }

    @Test func sessionsUnusedForTheirTimeoutExpire() {
        var table = UASessionTable(capacity: 4)
        table.insert(Self.session(1, channel: 1, lastActivity: 0, timeoutMs: 10_000))
        table.insert(Self.session(2, channel: 1, lastActivity: 5 * Self.second, timeoutMs: 10_000))
        table.insert(Self.session(3, channel: 2, lastActivity: 0, timeoutMs: 60_000))
        #expect(table.expired(now: 10 * Self.second).isEmpty)
        #expect(table.expired(now: 10 * Self.second + 1) == [Self.token(1)])
        #expect(Set(table.expired(now: 61 * Self.second)) == [Self.token(1), Self.token(2), Self.token(3)])
        #expect(Set(table.sessions(onChannel: 1).map(\.name)) == ["s1", "s2"])
        #expect(table.remove(Self.token(1))?.name == "s1" && table.remove(Self.token(1)) == nil && table.count == 2)
    }
}
