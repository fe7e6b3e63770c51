// Session service set (Part 4 §5.6): CreateSession, ActivateSession,
// CloseSession, Cancel (answers 0 cancelled: requests are not queued long
// enough to cancel, except Publish, which is answered on close).

import RailgateCore

extension UAServerCore {
    /// Session timeouts the server grants.
    static let sessionTimeoutRange = 10_000.0...3_600_000.0

    func registerSessionServices() {
        register(UAIds.Encoding.createSessionRequest, UAIds.Encoding.createSessionResponse) {
            (request: CreateSessionRequest, context) throws(ServiceError) in
            guard self.sessions.count < self.config.maxSessions else { throw ServiceError(.badTooManySessions) }
            let number = self.nextSessionNumber
            self.nextSessionNumber &+= 1
            let timeout = min(max(request.requestedSessionTimeout, Self.sessionTimeoutRange.lowerBound),
                              Self.sessionTimeoutRange.upperBound)
            let session = UASession(
                sessionId: NodeId(namespace: 1, .numeric(number)),
                authenticationToken: NodeId(namespace: 0, .opaque(Self.randomBytes(32))),
                name: request.sessionName ?? "session \(number)", timeoutMs: timeout,
                channelId: context.channelId, now: RailgateClock.now())
            self.sessions[session.authenticationToken] = session
            self.logger.info("OPC UA session created", metadata: [
                "session": "\(session.name)", "client": "\(request.clientDescription.applicationUri ?? "?")"])
            return CreateSessionResponse(
                responseHeader: context.responseHeader(), sessionId: session.sessionId,
                authenticationToken: session.authenticationToken, revisedSessionTimeout: timeout,
                serverNonce: Self.randomBytes(32), serverCertificate: nil, serverEndpoints: self.endpoints,
                serverSignature: SignatureData(), maxRequestMessageSize: UInt32(self.config.maxMessageSize))
        }

        register(UAIds.Encoding.activateSessionRequest, UAIds.Encoding.activateSessionResponse) {
            (request: ActivateSessionRequest, context) throws(ServiceError) in
            guard let session = context.session else { throw ServiceError(.badSessionIdInvalid) }
            // Security None: a session may move to another channel only as its own identity.
            session.identity = try self.authenticate(request.userIdentityToken)
            session.channelId = context.channelId
            session.isActivated = true
            return ActivateSessionResponse(responseHeader: context.responseHeader(), serverNonce: Self.randomBytes(32))
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

    /// Checks an identity token against the configuration; returns who it is.
    func authenticate(_ token: ExtensionObject) throws(ServiceError) -> String {
        do {
            if token.isNull || token.typeId == UAIds.Encoding.anonymousIdentityToken {
                guard config.anonymous else { throw ServiceError(.badIdentityTokenRejected) }
                return "anonymous"
            }
            if let user = try token.decode(UserNameIdentityToken.self, encodingId: UAIds.Encoding.userNameIdentityToken) {
                // Without a security policy the password arrives in clear text
                // (encryptionAlgorithm null); encrypted secrets need the security work.
                guard user.encryptionAlgorithm == nil else { throw ServiceError(.badIdentityTokenInvalid) }
                let password = user.password ?? []
                guard let name = user.userName,
                      let known = config.users.first(where: { $0.name == name }),
                      Self.constantTimeEqual(Array(known.password.utf8), password) else {
                    logger.warning("OPC UA login refused", metadata: ["user": "\(user.userName ?? "(none)")"])
                    throw ServiceError(.badUserAccessDenied)
                }
                return name
            }
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError(.badIdentityTokenInvalid)
        }
        throw ServiceError(.badIdentityTokenInvalid)
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
