import FoundationEssentials

/// The built-in OPC UA server. Off unless the `opcua` section is present.
public struct OPCUAConfig: Sendable, Equatable {
    public struct User: Sendable, Equatable {
        public var name: String
        /// Salted scrypt hash in PHC form (`$scrypt$ln=14,r=8,p=1$salt$hash`),
        /// made by `railgate hash-password`.
        public var passwordHash: String?
        /// A clear-text password: schema 1 and 2 files only (read with a note).
        public var password: String?
        public var role: Role

        public init(name: String, passwordHash: String? = nil, password: String? = nil, role: Role = .readOnly) {
            self.name = name
            self.passwordHash = passwordHash
            self.password = password
            self.role = role
        }
    }

    /// What a session may do: read and browse, or also write writable tags.
    public enum Role: String, Sendable, Equatable, CaseIterable {
        case readOnly = "read-only"
        case `operator`
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
    /// Values all monitored items may hold queued for Publish, together.
    public var maxQueuedValues: Int = 100_000
    /// Client connections open at once (each holds a socket and its buffers).
    public var maxConnections: Int = 64
    public var anonymous: Bool
    /// Role of anonymous sessions.
    public var anonymousRole: Role = .readOnly
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
    /// `schema` is the file's: before 3, users had clear-text passwords and
    /// every session could write (when `writes` allowed it), so such files
    /// keep that (noted by the migration).
    static func readOPCUA(_ reader: NodeReader, schema: Int) -> OPCUAConfig? {
        reader.rejectUnknownKeys(["host", "port", "endpoint_host", "max_sessions", "max_subscriptions_per_session",
                                  "max_monitored_items", "max_message_size", "max_nodes_per_request", "max_queued_values", "max_connections", "anonymous",
                                  "anonymous_role", "users", "writes", "security"])
        let host = reader.string("host") ?? "0.0.0.0"
        let legacy = schema < 3
        let defaultRole: OPCUAConfig.Role = legacy ? .operator : .readOnly
        var names = Set<String>()
        let users = reader.sequence("users").compactMap { user -> OPCUAConfig.User? in
            user.rejectUnknownKeys(["name", "password", "password_hash", "role"])
            let role = readRole(user, "role") ?? defaultRole
            guard let name = user.string("name", required: true) else { return nil }
            if !names.insert(name).inserted { user.issue("name", "user \"\(name)\" is listed twice") }
            if let hash = user.scalar("password_hash") {
                if let problem = PasswordHashFormat.problem(hash) { user.issue("password_hash", problem) }
                return OPCUAConfig.User(name: name, passwordHash: hash, role: role)
            }
            if let password = user.scalar("password") {
                guard legacy else {
                    user.issue("password", "passwords are not kept in clear text (schema 3): replace it with password_hash: the output of `railgate hash-password`")
                    return nil
                }
                return OPCUAConfig.User(name: name, password: password, role: role)
            }
            user.issue(nil, "user \"\(name)\" needs password_hash: (made by `railgate hash-password`)")
            return nil
        }
        let anonymous = reader.bool("anonymous") ?? true
        if !anonymous && users.isEmpty && reader.child("users") == nil {
            reader.issue("anonymous", "with anonymous: false, list users: [{name, password_hash, role}] or no client can log in")
        }
        var config = OPCUAConfig(
            host: host,
            port: reader.int("port", range: 1...65535) ?? 4840,
            endpointHost: reader.string("endpoint_host") ?? (host == "0.0.0.0" || host == "::" ? "localhost" : host),
            maxSessions: reader.int("max_sessions", range: 1...1000) ?? 32,
            maxSubscriptionsPerSession: reader.int("max_subscriptions_per_session", range: 1...1000) ?? 16,
            maxMonitoredItems: reader.int("max_monitored_items", range: 1...1_000_000) ?? 10_000,
            maxMessageSize: reader.int("max_message_size", range: 8192...(256 << 20)) ?? (16 << 20),
            maxNodesPerRequest: reader.int("max_nodes_per_request", range: 1...100_000) ?? 10_000,
            anonymous: anonymous,
            users: users,
            writes: reader.bool("writes") ?? false,
            security: reader.mapping("security").map(readSecurity))
        config.anonymousRole = readRole(reader, "anonymous_role") ?? defaultRole
        config.maxQueuedValues = reader.int("max_queued_values", range: 1000...10_000_000) ?? 100_000
        config.maxConnections = reader.int("max_connections", range: 1...1000) ?? 64
        return config
    }

    static func readRole(_ reader: NodeReader, _ key: String) -> OPCUAConfig.Role? {
        guard let text = reader.string(key) else { return nil }
        guard let role = OPCUAConfig.Role(rawValue: text) else {
            reader.issue(key, "role \"\(text)\" is unknown; use read-only or operator")
            return nil
        }
        return role
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
        if reader.child("policies")?.sequence?.isEmpty == true {
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
        if reader.child("modes")?.sequence?.isEmpty == true { reader.issue("modes", "list sign, sign_and_encrypt or both") }
        let hosts = reader.scalars("certificate_hosts").map(\.text)
        return OPCUAConfig.Security(policies: policies, modes: modes,
                                    pkiDir: reader.string("pki_dir") ?? "/var/lib/railgate/pki", certificateHosts: hosts)
    }
}

/// The shape of a `password_hash` value (checked when the configuration is
/// read; the OPC UA server verifies passwords against it).
public enum PasswordHashFormat {
    /// `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt, base64>$<hash, base64>`.
    public static func parse(_ text: String) -> (logN: Int, r: Int, p: Int, salt: [UInt8], hash: [UInt8])? {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt" else { return nil }
        var numbers: [String: Int] = [:]
        for item in parts[2].split(separator: ",") {
            let pair = item.split(separator: "=")
            guard pair.count == 2, let value = Int(pair[1]) else { return nil }
            numbers[String(pair[0])] = value
        }
        guard let logN = numbers["ln"], let r = numbers["r"], let p = numbers["p"],
              (10...20).contains(logN), (1...32).contains(r), (1...16).contains(p),
              let salt = Data(base64Encoded: padded(parts[3])), salt.count >= 16,
              let hash = Data(base64Encoded: padded(parts[4])), hash.count >= 32 else { return nil }
        return (logN, r, p, Array(salt), Array(hash))
    }

    public static func problem(_ text: String) -> String? {
        parse(text) == nil ? "not a password hash made by `railgate hash-password` ($scrypt$ln=…,r=…,p=…$salt$hash)" : nil
    }

    static func padded(_ text: Substring) -> String {
        String(text) + String(repeating: "=", count: (4 - text.count % 4) % 4)
    }
}
