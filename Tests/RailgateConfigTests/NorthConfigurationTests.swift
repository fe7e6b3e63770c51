import Testing
@testable import RailgateConfig

/// The mqtt and opcua sections: defaults and every bad input named by path.
struct NorthConfigurationTests {
    func load(_ north: String) -> Result<Configuration, ConfigError> {
        let yaml = """
        gateway: {id: gw1, isa95: {enterprise: acme}}
        \(north)
        south:
          - {name: b, protocol: modbus-tcp, host: 127.0.0.1, devices: [{name: d, tags: [{name: t, ref: 400001}]}]}
        """
        do { return .success(try Configuration.load(yaml: yaml)) } catch { return .failure(error) }
    }

    func issues(_ north: String) -> [String] {
        guard case .failure(let error) = load(north) else { return [] }
        return error.issues.map { "\($0.path): \($0.message)" }
    }

    @Test func mqttDefaults() throws {
        let config = try load("mqtt: {host: broker}").get().mqtt
        #expect(config?.format == .json && config?.qos == 1 && config?.port == 1883 && config?.cleanSession == true)
        #expect(config?.journal == nil && config?.tls == nil && config?.backups == [])
    }

    @Test func sparkplugNeedsAGroupAndSafeIds() {
        #expect(issues("mqtt: {host: b, format: sparkplug}") == ["mqtt: missing required section \"sparkplug\""])
        #expect(issues("mqtt: {host: b, format: sparkplug, sparkplug: {group_id: a/b}}")
                == ["mqtt.sparkplug.group_id: \"a/b\" must not contain +, / or #"])
        #expect(issues("mqtt: {host: b, format: protobuf}").first?.hasPrefix("mqtt.format: unknown format") == true)
        #expect(issues("mqtt: {host: b, sparkplug: {group_id: g}}") == ["mqtt.sparkplug: sparkplug settings need format: sparkplug"])
    }

    @Test func journalSettings() throws {
        let journal = try load("mqtt: {host: b, journal: {dir: /var/lib/railgate/journal, fsync: always}}").get().mqtt?.journal
        #expect(journal?.sync == .always && journal?.maxBytes == 64 << 20 && journal?.segmentBytes == 1 << 20)
        #expect(issues("mqtt: {host: b, journal: {dir: /j, fsync: sometimes}}").first?
                .hasPrefix("mqtt.journal.fsync: unknown fsync policy \"sometimes\"") == true)
        #expect(issues("mqtt: {host: b, journal: {fsync: always}}") == ["mqtt.journal: missing required key \"dir\""])
        #expect(issues("mqtt: {host: b, journal: {dir: /j, max_mb: 1, segment_kb: 2048}}").first?
                .hasPrefix("mqtt.journal.segment_kb") == true)
    }

    @Test func tlsNeedsACAAndCertificateWithKey() {
        #expect(issues("mqtt: {host: b, tls: {cert_file: /c.pem}}").contains("mqtt.tls: missing required key \"ca_file\""))
        #expect(issues("mqtt: {host: b, tls: {ca_file: /ca.pem, cert_file: /c.pem}}")
                == ["mqtt.tls.cert_file: cert_file and key_file go together"])
    }

    @Test func backupBrokers() throws {
        let config = try load("mqtt: {host: a, backup_brokers: [{host: b, port: 8883}], failover_s: 5}").get().mqtt
        #expect(config?.backups == [BrokerEndpoint(host: "b", port: 8883)] && config?.failoverSeconds == 5)
        #expect(issues("mqtt: {host: a, backup_brokers: [{port: 1}]}") == ["mqtt.backup_brokers[0]: missing required key \"host\""])
    }

    @Test func opcuaDefaultsAndErrors() throws {
        let opcua = try load("opcua: {}").get().opcua
        #expect(opcua?.port == 4840 && opcua?.anonymous == true && opcua?.writes == false)
        #expect(opcua?.endpointUrl == "opc.tcp://localhost:4840")
        #expect(issues("opcua: {port: 70000}") == ["opcua.port: 70000 is out of range 1...65535"])
        #expect(issues("opcua: {anonymous: false}").first?.hasPrefix("opcua.anonymous: with anonymous: false") == true)
        #expect(issues("opcua: {users: [{name: mes}]}")
                == ["opcua.users[0]: user \"mes\" needs password_hash: (made by `railgate hash-password`)"])
        #expect(issues("opcua: {max_session: 3}").first?.hasPrefix("opcua.max_session: unknown key") == true)
    }

    static let hash = "$scrypt$ln=14,r=8,p=1$7jfzSVaN0+TCr7Q5GU5Mhw$TGz1kLaEdRDlNR4/zpp3OqCR1WJXwTsddqD1Z1yXxy8"

    @Test func opcuaUsersHaveHashesAndRoles() throws {
        let opcua = try load("""
            schema: 3
            opcua: {users: [{name: mes, password_hash: "\(Self.hash)"}, {name: tech, password_hash: "\(Self.hash)", role: operator}]}
            """).get().opcua
        #expect(opcua?.users.map(\.role) == [.readOnly, .operator] && opcua?.anonymousRole == .readOnly)
        #expect(opcua?.users.first?.password == nil && opcua?.users.first?.passwordHash == Self.hash)
        // Schema 3 keeps no clear-text password.
        #expect(issues("schema: 3\nopcua: {users: [{name: mes, password: secret}]}")
                == ["opcua.users[0].password: passwords are not kept in clear text (schema 3): replace it with password_hash: the output of `railgate hash-password`"])
        #expect(issues("schema: 3\nopcua: {users: [{name: mes, password_hash: secret}]}")
                == ["opcua.users[0].password_hash: not a password hash made by `railgate hash-password` ($scrypt$ln=…,r=…,p=…$salt$hash)"])
        #expect(issues("schema: 3\nopcua: {anonymous_role: admin}")
                == ["opcua.anonymous_role: role \"admin\" is unknown; use read-only or operator"])
    }

    @Test func olderSchemasKeepClearPasswordsAndWritingSessionsWithANote() throws {
        let configuration = try load("schema: 2\nopcua: {writes: true, users: [{name: mes, password: secret}]}").get()
        #expect(configuration.opcua?.users.first?.password == "secret" && configuration.opcua?.users.first?.role == .operator)
        #expect(configuration.opcua?.anonymousRole == .operator)
        #expect(configuration.migrationNotes.map(\.text) == [
            "opcua.users[0].password is kept in clear text: replace it with password_hash (railgate hash-password)",
            "opcua.users[0] has role operator (schema 3 users are read-only unless given role: operator)",
            "opcua.anonymous_role is operator (schema 3 anonymous sessions are read-only unless anonymous_role: operator)"])
    }

    @Test func opcuaSecurityPoliciesAndModes() throws {
        let all = try load("opcua: {security: {pki_dir: /tmp/pki}}").get().opcua?.security
        #expect(all?.policies == OPCUAConfig.Security.policyNames && all?.modes == ["sign", "sign_and_encrypt"])
        let strict = try load("opcua: {security: {policies: [basic256sha256], modes: [sign_and_encrypt]}}").get().opcua?.security
        #expect(strict?.policies == ["Basic256Sha256"] && strict?.pkiDir == "/var/lib/railgate/pki")
        #expect(issues("opcua: {security: {policies: [Basic128Rsa15]}}")
                == ["opcua.security.policies[0]: policy \"Basic128Rsa15\" is not offered; use None, Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss"])
        #expect(issues("opcua: {security: {modes: [encrypt]}}")
                == ["opcua.security.modes[0]: mode \"encrypt\" is not offered; use sign or sign_and_encrypt"])
    }
}
