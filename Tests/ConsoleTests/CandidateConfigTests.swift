@testable import Console
import Testing

@Suite struct CandidateConfigTests {
    static let yaml = """
    gateway: {id: gw, isa95: {enterprise: acme}}
    south:
      - name: tcp1
        protocol: modbus-tcp
        host: 127.0.0.1
        devices:
          - name: meter1
            tags:
              - {name: speed, ref: 400006}
              - {name: lamp, ref: "00001"}
    """

    func candidate() throws -> CandidateConfig { try CandidateConfig(yaml: Self.yaml, baseDirectory: ".") }

    @Test func setsByKeyIndexAndName() throws {
        var c = try candidate()
        try c.set("gateway.writes", to: "true")
        try c.set("south[0].timeout_ms", to: "500")
        try c.set("south[tcp1].devices[meter1].poll_ms", to: "250")
        try c.set("south[tcp1].devices[meter1].tags[speed].unit", to: "rpm")
        try c.set("south[tcp1].devices[meter1].tags[+]", to: "{name: counter, ref: 400007, type: uint32}")
        let config = try c.validate().get()
        #expect(config.gateway.writesEnabled && config.buses[0].timeoutMs == 500)
        #expect(config.buses[0].devices[0].pollMs == 250)
        #expect(config.buses[0].devices[0].tags.map(\.name) == ["speed", "lamp", "counter"])
        #expect(config.buses[0].devices[0].tags[0].unit == "rpm")
        // A quoted reference keeps its leading zeros through the round trip.
        #expect(config.buses[0].devices[0].tags[1].table == .coil)
    }

    @Test func deletesAndCreatesSections() throws {
        var c = try candidate()
        try c.delete("south[tcp1].devices[meter1].tags[lamp]")
        try c.set("opcua.port", to: "4841")
        let config = try c.validate().get()
        #expect(config.buses[0].devices[0].tags.map(\.name) == ["speed"])
        #expect(config.opcua?.port == 4841)
        #expect(throws: CandidateConfig.EditError.self) { try c.delete("mqtt") }
    }

    @Test func badPathsAreNamed() throws {
        var c = try candidate()
        #expect(throws: CandidateConfig.EditError(message: "south[tcp9].port: no such list element (names: tcp1; [+] appends)")) {
            try c.set("south[tcp9].port", to: "502")
        }
        #expect(throws: CandidateConfig.EditError(message: "gateway.id.x: \"x\" is inside a value that is not a mapping")) {
            try c.set("gateway.id.x", to: "1")
        }
        #expect(throws: CandidateConfig.EditError(message: "south[: expected [index] or [name] after \"south\"")) {
            try c.set("south[", to: "1")
        }
        let deep = Array(repeating: "a", count: 65).joined(separator: ".")
        #expect(throws: CandidateConfig.EditError(message: "\(deep.prefix(80))…: a path is at most 64 keys and elements deep")) {
            try c.set(deep, to: "1")
        }
        #expect(throws: Never.self) { try c.set(Array(repeating: "a", count: 64).joined(separator: "."), to: "1") }
        try c.delete("a")
        let before = c.yaml
        #expect(throws: CandidateConfig.EditError.self) { try c.set("gateway.writes", to: "[unclosed") }
        #expect(c.yaml == before)
    }

    @Test func diffShowsOnlyChangesWithContext() {
        let old = "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\ng: 7"
        let new = "a: 1\nb: 2\nc: 3\nd: 40\ne: 5\nf: 6\ng: 7"
        #expect(LineDiff.compare(old, new, context: 1) == "  c: 3\n- d: 4\n+ d: 40\n  e: 5")
        #expect(LineDiff.compare(old, old).isEmpty)
    }

    @Test func globsAndSuggestions() {
        #expect(ConsoleSession.glob("meter1/*", matches: "meter1/speed"))
        #expect(ConsoleSession.glob("*/sp?ed", matches: "meter1/speed"))
        #expect(!ConsoleSession.glob("meter2/*", matches: "meter1/speed"))
        #expect(ConsoleSession.closest("shwo", among: ["show", "write", "set"]) == "show")
        #expect(ConsoleSession.closest("comit", among: ["commit", "confirm"]) == "commit")
        #expect(ConsoleSession.closest("zzz", among: ["show", "write"]) == nil)
        #expect(ConsoleSession.rest(of: "set  a.b   {x: 1, y: 2}", after: 2) == "{x: 1, y: 2}")
    }
}

@Suite struct SecretTests {
    @Test func passwordsAreMaskedInDiffsAndListings() {
        let masked = LineDiff.maskingSecrets("  password: s3cret")
        #expect(!masked.contains("s3cret") && masked.hasPrefix("  password: ********"))
        #expect(!LineDiff.maskingSecrets("mqtt: {host: b, password: s3cret, qos: 1}").contains("s3cret"))
        #expect(LineDiff.maskingSecrets("mqtt: {host: b, password: s3cret, qos: 1}").hasSuffix(", qos: 1}"))
        let diff = LineDiff.compare("mqtt:\n  password: old1\n", "mqtt:\n  password: new2\n")
        #expect(!diff.contains("old1") && !diff.contains("new2") && diff.contains("-   password: ********"))
        #expect(LineDiff.maskingSecrets("  host: broker") == "  host: broker")
    }
}
