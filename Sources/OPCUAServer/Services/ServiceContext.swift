/// A service-level failure: answered with a ServiceFault carrying `status`.
public struct ServiceError: Error, Equatable {
    public var status: StatusCode
    public init(_ status: StatusCode) { self.status = status }
}

/// What a service knows about the request it serves.
public struct ServiceContext {
    public var channelId: UInt32
    public var requestHeader: RequestHeader
    /// The activated session the authentication token names, when any.
    public var session: UASession?
    /// Where the request's fields after its header begin (for services that decode in place).
    var fieldsOffset = 0

    /// A response header answering this request.
    public func responseHeader(_ status: StatusCode = .good) -> ResponseHeader {
        ResponseHeader(timestamp: UADateTime(unixNanoseconds: RailgateClock.now()),
                       requestHandle: requestHeader.requestHandle, serviceResult: status)
    }

    /// The session, or the ServiceFault Part 4 asks for when it is missing.
    public func requireSession() throws(ServiceError) -> UASession {
        guard let session else { throw ServiceError(.badSessionIdInvalid) }
        guard session.isActivated else { throw ServiceError(.badSessionNotActivated) }
        return session
    }

    /// The session's subscription `id`, or the ServiceFault for an unknown one.
    func requireSubscription(_ id: UInt32) throws(ServiceError) -> UASubscription {
        guard let subscription = try requireSession().subscriptions[id] else {
            throw ServiceError(.badSubscriptionIdInvalid)
        }
        return subscription
    }
}

import RailgateCore

enum RailgateClock {
    static func now() -> Int64 { Clock.realtimeNs() }
}
