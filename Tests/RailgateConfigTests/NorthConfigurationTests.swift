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
        #expect(issues("opcua: {users: [{name: mes}]}") == ["opcua.users[0]: missing required key \"password\""])
        #expect(issues("opcua: {max_session: 3}").first?.hasPrefix("opcua.max_session: unknown key") == true)
    }
}
