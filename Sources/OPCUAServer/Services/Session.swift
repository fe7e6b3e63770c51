// Session service set (Part 4 §5.6): CreateSession, ActivateSession,
// CloseSession, Cancel (answers 0 cancelled: requests are not queued long
// enough to cancel, except Publish, which is answered on close).

import RailgateConfig
import RailgateCore

extension UAServerCore {
    /// Session timeouts the server grants.
    static let sessionTimeoutRange = 10_000.0...3_600_000.0

    /// The timeout granted for a requested one: within `sessionTimeoutRange`; NaN, infinite,
    /// zero or negative get the default (a NaN would never expire and hold its slot for ever).
    static func revisedSessionTimeout(_ requested: Double) -> Double {
        guard requested.isFinite, requested > 0 else { return defaultSessionTimeout }
        return min(max(requested, sessionTimeoutRange.lowerBound), sessionTimeoutRange.upperBound)
    }

    static let defaultSessionTimeout = 60_000.0

    /// Makes room for a new session when every slot is taken, if a session whose connection is
    /// gone (or that was never activated) can go: a client that created sessions and left must
    /// not lock the others out until the sessions time out.
    func admitSession() throws(ServiceError) {
        switch sessions.admission(now: RailgateClock.now(), isOpen: { channels[$0] != nil }) {
        case .admit:
            return
        case .full:
            throw ServiceError(.badTooManySessions)
        case .evict(let token, let connectionGone):
            logger.notice("OPC UA session closed to make room", metadata: [
                "session": "\(sessions[token]?.name ?? "?")",
                "reason": "\(connectionGone ? "its connection is gone" : "never activated")",
                "max_sessions": "\(config.maxSessions)"])
            removeSession(token)
        }
    }

    func registerSessionServices() {
        register(UAIds.Encoding.createSessionRequest, UAIds.Encoding.createSessionResponse) {
            (request: CreateSessionRequest, context) throws(ServiceError) in
            let channel = self.channels[context.channelId] ?? .unsecured
            if let refusal = UASessionTable.creationRefusal(clientNonce: request.clientNonce,
                                                            clientCertificate: request.clientCertificate, on: channel) {
                throw ServiceError(refusal)
            }
            try self.admitSession()
            let number = self.nextSessionNumber
            self.nextSessionNumber &+= 1
            let timeout = Self.revisedSessionTimeout(request.requestedSessionTimeout)
            let session = UASession(
                sessionId: NodeId(namespace: 1, .numeric(number)),
                authenticationToken: NodeId(namespace: 0, .guid(UAGuid(bytes: Self.randomBytes(16)))),
                name: request.sessionName ?? "session \(number)", timeoutMs: timeout,
                channelId: context.channelId, now: RailgateClock.now())
            // Part 4 §5.6.2: on a secured channel the server proves it holds its
            // key by signing the client's certificate and nonce.
            var signature = SignatureData()
            if channel.isSecured, let own = self.security.certificate {
                guard let bytes = try? channel.policy.sign((channel.clientCertificate ?? []) + (request.clientNonce ?? []),
                                                           with: own.privateKey) else {
                    throw ServiceError(.badInternalError)
                }
                signature = SignatureData(algorithm: channel.policy.asymmetricSignatureURI, signature: bytes)
            }
            session.serverNonce = Self.randomBytes(32)
            session.securityPolicy = channel.policy
            session.clientCertificate = channel.clientCertificate
            self.sessions.insert(session)
            self.logger.info("OPC UA session created", metadata: [
                "session": "\(session.name)", "client": "\(request.clientDescription.applicationUri ?? "?")"])
            return CreateSessionResponse(
                responseHeader: context.responseHeader(), sessionId: session.sessionId,
                authenticationToken: session.authenticationToken, revisedSessionTimeout: timeout,
                serverNonce: session.serverNonce, serverCertificate: self.security.certificate?.der,
                serverEndpoints: self.endpoints, serverSignature: signature,
                maxRequestMessageSize: UInt32(self.config.maxMessageSize))
        }

        register(UAIds.Encoding.activateSessionRequest, UAIds.Encoding.activateSessionResponse) {
            (request: ActivateSessionRequest, context) throws(ServiceError) in
            guard let session = context.session else { throw ServiceError(.badSessionIdInvalid) }
            // A session moves only to a channel as secure as the one it was created on, with the same client.
            let channel = self.channels[context.channelId] ?? .unsecured
            if let refusal = UASessionTable.activationRefusal(of: session, on: channel) {
                self.logger.warning("OPC UA session activation refused: another channel security",
                                    metadata: ["session": "\(session.name)"])
                self.audit("opcua activation refused", "opcua client",
                           [("session", session.name), ("reason", "channel security differs from the session's")])
                self.raise(self.activationEvent(session, channelId: context.channelId, user: "opcua client", succeeded: false,
                                                detail: "channel security differs from the session's"))
                throw ServiceError(refusal)
            }
            // Part 4 §5.6.3: on a secured channel the client signs our
            // certificate and the nonce we gave it last.
            if channel.isSecured {
                guard let own = self.security.certificate, let key = channel.clientKey,
                      let signed = request.clientSignature.signature,
                      channel.policy.verify(signed, of: own.der + session.serverNonce, with: key) else {
                    self.logger.warning("OPC UA session activation refused: wrong client signature",
                                        metadata: ["session": "\(session.name)"])
                    self.audit("opcua activation refused", "opcua client",
                               [("session", session.name), ("reason", "wrong client signature")])
                    self.raise(self.activationEvent(session, channelId: context.channelId, user: "opcua client",
                                                    succeeded: false, detail: "wrong client signature"))
                    throw ServiceError(.badApplicationSignatureInvalid)
                }
            }
            do throws(ServiceError) {
                (session.identity, session.role) = try self.authenticate(request.userIdentityToken, session: session)
            } catch {
                self.audit("opcua activation refused", Self.claimedUser(request.userIdentityToken),
                           [("session", session.name), ("status", "\(error.status)")])
                self.raise(self.activationEvent(session, channelId: context.channelId,
                                                user: Self.claimedUser(request.userIdentityToken), succeeded: false,
                                                detail: "\(error.status)"))
                throw error
            }
            session.channelId = context.channelId
            session.isActivated = true
            // ClientUserId as the audit trail names OPC UA users.
            self.raise(self.activationEvent(session, channelId: context.channelId, user: "opcua:\(session.identity)",
                                            succeeded: true, detail: ""))
            session.serverNonce = Self.randomBytes(32)
            return ActivateSessionResponse(responseHeader: context.responseHeader(), serverNonce: session.serverNonce)
        }

        register(UAIds.Encoding.closeSessionRequest, UAIds.Encoding.closeSessionResponse) {
            (request: CloseSessionRequest, context) throws(ServiceError) in
            guard let session = context.session else { throw ServiceError(.badSessionIdInvalid) }
            self.removeSession(session.authenticationToken)
            self.logger.info("OPC UA session closed", metadata: ["session": "\(session.name)"])
            return CloseSessionResponse(responseHeader: context.responseHeader())
        }

        register(UAIds.Encoding.cancelRequest, UAIds.Encoding.cancelResponse) {
            (request: CancelRequest, context) throws(ServiceError) in
            _ = try context.requireSession()
            return CancelResponse(responseHeader: context.responseHeader(), cancelCount: 0)
        }
    }

    /// Checks an identity token against the configuration; returns who it
    /// is and what it may do.
    func authenticate(_ token: ExtensionObject, session: UASession) throws(ServiceError) -> (String, OPCUAConfig.Role) {
        do {
            if token.isNull || token.typeId == UAIds.Encoding.anonymousIdentityToken {
                guard config.anonymous else { throw ServiceError(.badIdentityTokenRejected) }
                return ("anonymous", config.anonymousRole)
            }
            if let user = try token.decode(UserNameIdentityToken.self, encodingId: UAIds.Encoding.userNameIdentityToken) {
                let password = try self.password(of: user, nonce: session.serverNonce)
                guard let name = user.userName, let known = config.users.first(where: { $0.name == name }),
                      Self.matches(password, known) else {
                    logger.warning("OPC UA login refused", metadata: ["user": "\(user.userName ?? "(none)")"])
                    throw ServiceError(.badUserAccessDenied)
                }
                return (name, known.role)
            }
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError(.badIdentityTokenInvalid)
        }
        throw ServiceError(.badIdentityTokenInvalid)
    }

    /// The password of a UserName token: in clear text (no encryption
    /// algorithm, allowed only where no certificate exists to encrypt with),
    /// or RSA-encrypted for our certificate as length (4 bytes, little
    /// endian) + password + the server nonce (Part 4 §7.36.4).
    func password(of user: UserNameIdentityToken, nonce: [UInt8]) throws(ServiceError) -> [UInt8] {
        guard let algorithm = user.encryptionAlgorithm, !algorithm.isEmpty else {
            guard security.certificate == nil else {
                logger.warning("OPC UA login refused: password sent in clear text", metadata: ["user": "\(user.userName ?? "(none)")"])
                throw ServiceError(.badIdentityTokenInvalid)
            }
            return user.password ?? []
        }
        guard let own = security.certificate,
              let policy = security.policies.first(where: { $0 != .none && $0.asymmetricEncryptionURI == algorithm }) else {
            throw ServiceError(.badIdentityTokenInvalid)
        }
        let plain: [UInt8]
        do {
            plain = try policy.decrypt(user.password ?? [], with: own.privateKey)
        } catch {
            throw ServiceError(.badIdentityTokenInvalid)
        }
        guard plain.count >= 4 else { throw ServiceError(.badIdentityTokenInvalid) }
        let length = Int(plain[0]) | Int(plain[1]) << 8 | Int(plain[2]) << 16 | Int(plain[3]) << 24
        guard length >= nonce.count, length <= plain.count - 4,
              Self.constantTimeEqual(Array(plain[(4 + length - nonce.count)..<(4 + length)]), nonce) else {
            throw ServiceError(.badIdentityTokenInvalid)
        }
        return Array(plain[4..<(4 + length - nonce.count)])
    }

    /// The user name a token claims, for the audit trail of a refusal.
    static func claimedUser(_ token: ExtensionObject) -> String {
        if let user = try? token.decode(UserNameIdentityToken.self, encodingId: UAIds.Encoding.userNameIdentityToken) {
            return "opcua:\(user.userName ?? "(none)")"
        }
        return "opcua:anonymous"
    }

    static func matches(_ password: [UInt8], _ user: OPCUAConfig.User) -> Bool {
        if let hash = user.passwordHash { return PasswordHash.verify(password, against: hash) }
        return constantTimeEqual(Array((user.password ?? "").utf8), password)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
