/// The built-in OPC UA server. Off unless the `opcua` section is present.
public struct OPCUAConfig: Sendable, Equatable {
    public struct User: Sendable, Equatable {
        public var name: String
        public var password: String
    }

    /// Address to listen on (`0.0.0.0` for every interface, `127.0.0.1` for local clients only).
    public var host: String
    public var port: Int
    /// Host name put in endpoint URLs, as clients reach the gateway.
    public var endpointHost: String
    public var maxSessions: Int
    public var maxSubscriptionsPerSession: Int
    public var maxMonitoredItems: Int
    public var maxMessageSize: Int
    /// Largest number of nodes in one Read/Write/Browse/… request.
    public var maxNodesPerRequest: Int
    public var anonymous: Bool
    public var users: [User]
    /// OPC UA clients may write writable tags (the gateway's write policy applies too).
    public var writes: Bool

    public var endpointUrl: String { "opc.tcp://\(endpointHost):\(port)" }
}

extension Configuration {
    static func readOPCUA(_ reader: NodeReader) -> OPCUAConfig? {
        reader.rejectUnknownKeys(["host", "port", "endpoint_host", "max_sessions", "max_subscriptions_per_session",
                                  "max_monitored_items", "max_message_size", "max_nodes_per_request", "anonymous",
                                  "users", "writes"])
        let host = reader.string("host") ?? "0.0.0.0"
        let users = reader.sequence("users").compactMap { user -> OPCUAConfig.User? in
            user.rejectUnknownKeys(["name", "password"])
            guard let name = user.string("name", required: true), let password = user.scalar("password", required: true) else {
                return nil
            }
            return OPCUAConfig.User(name: name, password: password)
        }
        let anonymous = reader.bool("anonymous") ?? true
        if !anonymous && users.isEmpty && reader.child("users") == nil {
            reader.issue("anonymous", "with anonymous: false, list users: [{name, password}] or no client can log in")
        }
        return OPCUAConfig(
            host: host,
            port: reader.int("port", range: 1...65535) ?? 4840,
            endpointHost: reader.string("endpoint_host") ?? (host == "0.0.0.0" || host == "::" ? "localhost" : host),
            maxSessions: reader.int("max_sessions", range: 1...1000) ?? 32,
            maxSubscriptionsPerSession: reader.int("max_subscriptions_per_session", range: 1...1000) ?? 16,
            maxMonitoredItems: reader.int("max_monitored_items", range: 1...1_000_000) ?? 100_000,
            maxMessageSize: reader.int("max_message_size", range: 8192...(256 << 20)) ?? (16 << 20),
            maxNodesPerRequest: reader.int("max_nodes_per_request", range: 1...100_000) ?? 10_000,
            anonymous: anonymous,
            users: users,
            writes: reader.bool("writes") ?? false)
    }
}
