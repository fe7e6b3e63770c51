import Testing
@testable import OPCUAServer
@testable import RailgateConfig

struct SessionTests {
    @Test func servicesNeedAnActivatedSession() throws {
        let server = ServerHarness()
        let read = ReadRequest(requestHeader: server.header, nodesToRead: [ReadValueId(nodeId: UAIds.server, attributeId: 1)])
        #expect(server.call(read, UAIds.Encoding.readRequest, as: ReadResponse.self).failureStatus == .badSessionIdInvalid)
        let created = try server.call(CreateSessionRequest(requestHeader: server.header, requestedSessionTimeout: 1),
                                      UAIds.Encoding.createSessionRequest, as: CreateSessionResponse.self).get()
        #expect(created.revisedSessionTimeout == 10_000)
        server.token = created.authenticationToken
        #expect(server.call(ReadRequest(requestHeader: server.header, nodesToRead: read.nodesToRead),
                            UAIds.Encoding.readRequest, as: ReadResponse.self).failureStatus == .badSessionNotActivated)
    }

    @Test func sessionsAreLimited() {
        let server = ServerHarness(maxSessions: 1)
        server.openSession()
        #expect(server.call(CreateSessionRequest(requestHeader: server.header), UAIds.Encoding.createSessionRequest,
                            as: CreateSessionResponse.self).failureStatus == .badTooManySessions)
    }

    @Test func timeoutsThatNeverExpireAreRevisedToTheDefault() throws {
        let server = ServerHarness(maxSessions: 8)
        for requested in [Double.nan, .infinity, -.infinity, -5, 0] {
            let created = try server.call(CreateSessionRequest(requestHeader: server.header, requestedSessionTimeout: requested),
                                          UAIds.Encoding.createSessionRequest, as: CreateSessionResponse.self).get()
            #expect(created.revisedSessionTimeout == 60_000, "\(requested)")
        }
        #expect(UAServerCore.revisedSessionTimeout(1e300) == 3_600_000)
    }

    @Test func aSessionWhoseConnectionIsGoneMakesRoomWhenAllSlotsAreTaken() throws {
        let server = ServerHarness(maxSessions: 1)
        let first = server.openSession(channel: 1)
        server.token = .null
        // Its client stays connected: no room.
        #expect(server.call(CreateSessionRequest(requestHeader: server.header), UAIds.Encoding.createSessionRequest,
                            as: CreateSessionResponse.self, channel: 2).failureStatus == .badTooManySessions)
        // Its connection closes: the next client gets the slot.
        server.core.channelClosed(1)
        server.token = .null
        let second = server.openSession(channel: 2)
        #expect(second != first && server.core.sessions.count == 1)
        #expect(server.core.sessions.values.first?.sessionId == second)
    }

    @Test func aSessionIsBoundToItsChannel() {
        let server = ServerHarness()
        server.openSession(channel: 1)
        let read = ReadRequest(requestHeader: server.header, nodesToRead: [ReadValueId(nodeId: UAIds.server, attributeId: 1)])
        #expect(server.call(read, UAIds.Encoding.readRequest, as: ReadResponse.self, channel: 2).failureStatus
                == .badSecureChannelIdInvalid)
    }

    @Test func userNameTokensAreChecked() throws {
        let server = ServerHarness(anonymous: false, users: [OPCUAConfig.User(name: "tech", password: "s3cret")])
        let created = try server.call(CreateSessionRequest(requestHeader: server.header), UAIds.Encoding.createSessionRequest,
                                      as: CreateSessionResponse.self).get()
        server.token = created.authenticationToken
        func activate(_ token: ExtensionObject) -> StatusCode? {
            server.call(ActivateSessionRequest(requestHeader: server.header, userIdentityToken: token),
                        UAIds.Encoding.activateSessionRequest, as: ActivateSessionResponse.self).failureStatus
        }
        #expect(activate(.null) == .badIdentityTokenRejected)
        let wrong = UserNameIdentityToken(policyId: "username", userName: "tech", password: Array("nope".utf8))
        #expect(activate(ExtensionObject(wrong, encodingId: UAIds.Encoding.userNameIdentityToken)) == .badUserAccessDenied)
        let right = UserNameIdentityToken(policyId: "username", userName: "tech", password: Array("s3cret".utf8))
        #expect(activate(ExtensionObject(right, encodingId: UAIds.Encoding.userNameIdentityToken)) == nil)
    }

    @Test func closeSessionRemovesIt() {
        let server = ServerHarness()
        server.openSession()
        #expect(server.call(CloseSessionRequest(requestHeader: server.header, deleteSubscriptions: true),
                            UAIds.Encoding.closeSessionRequest, as: CloseSessionResponse.self).failureStatus == nil)
        #expect(server.core.sessions.isEmpty)
    }
}

extension Result {
    /// The ServiceFault status, or nil when the service succeeded.
    var failureStatus: StatusCode? {
        if case .failure(let error as ServiceError) = self { return error.status }
        return nil
    }
}
