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

    /// Signed and encrypted channels; nil: Security None only.
    public var security: Security? = nil

    public var endpointUrl: String { "opc.tcp://\(endpointHost):\(port)" }

    /// `opcua.security`: the policies and modes offered and the PKI folder.
    public struct Security: Sendable, Equatable {
        /// Policy names as OPC UA spells them after the '#': None, Basic256Sha256,
        /// Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss.
        public var policies: [String]
        /// `sign`, `sign_and_encrypt`.
        public var modes: [String]
        /// own/, trusted/, issuers/, rejected/ certificate folders.
        public var pkiDir: String
        /// Host names and addresses put in a generated certificate (besides endpoint_host).
        public var certificateHosts: [String]

        public static let policyNames = ["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"]
        public static let modeNames = ["sign", "sign_and_encrypt"]
    }
}

extension Configuration {
    static func readOPCUA(_ reader: NodeReader) -> OPCUAConfig? {
        reader.rejectUnknownKeys(["host", "port", "endpoint_host", "max_sessions", "max_subscriptions_per_session",
                                  "max_monitored_items", "max_message_size", "max_nodes_per_request", "anonymous",
                                  "users", "writes", "security"])
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
            writes: reader.bool("writes") ?? false,
            security: reader.mapping("security").map(readSecurity))
    }

    static func readSecurity(_ reader: NodeReader) -> OPCUAConfig.Security {
        reader.rejectUnknownKeys(["policies", "modes", "pki_dir", "certificate_hosts"])
        let names = OPCUAConfig.Security.policyNames
        var policies: [String] = []
        for item in reader.scalars("policies") {
            guard let name = names.first(where: { $0.lowercased() == item.text.lowercased() }) else {
                reader.issue(path: item.path, line: item.line,
                             "policy \"\(item.text)\" is not offered; use \(names.joined(separator: ", "))")
                continue
            }
            if !policies.contains(name) { policies.append(name) }
        }
        if reader.child("policies") == nil { policies = names }
        if reader.child("policies") != nil && policies.isEmpty {
            reader.issue("policies", "list at least one policy")
        }
        var modes: [String] = []
        for item in reader.scalars("modes") {
            guard OPCUAConfig.Security.modeNames.contains(item.text) else {
                reader.issue(path: item.path, line: item.line, "mode \"\(item.text)\" is not offered; use sign or sign_and_encrypt")
                continue
            }
            if !modes.contains(item.text) { modes.append(item.text) }
        }
        if reader.child("modes") == nil { modes = OPCUAConfig.Security.modeNames }
        if reader.child("modes") != nil && modes.isEmpty { reader.issue("modes", "list sign, sign_and_encrypt or both") }
        let hosts = reader.scalars("certificate_hosts").map(\.text)
        return OPCUAConfig.Security(policies: policies, modes: modes,
                                    pkiDir: reader.string("pki_dir") ?? "/var/lib/railgate/pki", certificateHosts: hosts)
    }
}
