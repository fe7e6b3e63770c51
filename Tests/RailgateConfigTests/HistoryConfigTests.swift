import Testing
@testable import RailgateConfig
import RailgateCore

struct HistoryConfigTests {
    static let history = """
    history:
      dir: /var/lib/railgate/history
      max_mb: 64
      tags:
        - {tag: meter1/voltage, max_values: 100000, max_age_h: 720}
        - {tag: drive1/*}

    """

    func refused(_ old: String, _ new: String) -> [ConfigIssue] {
        precondition(Self.history.contains(old), old)
        do { _ = try Configuration.load(yaml: Self.history.replacingOccurrences(of: old, with: new) + validYAML); return [] }
        catch { return error.issues }
    }

    @Test func historizedTagsAreResolvedAndStringsPassedOver() throws {
        let configuration = try Configuration.load(yaml: Self.history + validYAML)
        let tags = configuration.tags()
        let history = try #require(configuration.history)
        #expect(history.directory == "/var/lib/railgate/history" && history.maxBytes == 64 << 20)
        #expect(history.syncIntervalMs == 1000 && history.maxReadValues == 10_000)
        let historized = configuration.historizedTags(tags)
        #expect(historized.map { tags[$0.index].path } == ["acme/plant1/pack/line3/meter1/voltage",
                                                          "acme/plant1/pack/line3/drive1/freq"])
        #expect(historized[0].maxValues == 100_000 && historized[0].maxAgeNs == 720 * 3_600_000_000_000)
        #expect(historized[1].maxValues == 10_000 && historized[1].maxAgeNs == nil)
        // meter1/* takes the numeric and boolean tags, not the string.
        let all = try Configuration.load(yaml: Self.history.replacingOccurrences(of: "meter1/voltage", with: "meter1/*")
                                         + validYAML)
        #expect(all.historizedTags(all.tags()).map { all.tags()[$0.index].name } == ["voltage", "speed", "run", "coil0", "freq"])
    }

    @Test func badHistoryIsRefusedWithPathAndLine() {
        let cases: [(String, String, String, Int, String)] = [
            ("meter1/voltage,", "meter1/voltag,", "history.tags[0].tag", 5, "no tag \"meter1/voltag\"; did you mean \"meter1/voltage\"?"),
            ("drive1/*", "drive2/*", "history.tags[1].tag", 6, "no device \"drive2\"; did you mean \"drive1/*\"?"),
            ("meter1/voltage,", "meter1/serial,", "history.tags[0].tag", 5,
             "meter1/serial is a string tag; history is kept for numeric and boolean tags"),
            ("drive1/*", "meter1/voltage", "history.tags[1].tag", 6,
             "meter1/voltage already has a history (meter1/voltage, line 5)"),
            ("max_values: 100000", "max_values: 1", "history.tags[0].max_values", 5, "1 is out of range 2...100000000"),
            ("max_mb: 64", "max_mb: 4", "history.max_mb", 3,
             "the history files take 4.2 MiB (2 tags × their max_values × 40 bytes), more than max_mb 4; keep fewer values or raise max_mb"),
            ("max_age_h: 720", "max_age_h: 0", "history.tags[0].max_age_h", 5, "0 is out of range 1...876000"),
        ]
        for (old, new, path, line, message) in cases {
            let found = refused(old, new)
            #expect(found.map(\.path) == [path], "\(new): \(found)")
            #expect(found.first?.line == line, "\(new)")
            #expect(found.first?.message == message, "\(new)")
        }
    }
}

struct Part11ConfigTests {
    static let hash = "$scrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

    func load(_ gateway: String, console: String) -> Result<Configuration, ConfigError> {
        let yaml = validYAML.replacingOccurrences(of: "  isa95: {enterprise: acme, site: plant1, area: pack, line: line3}",
                                                  with: "  isa95: {enterprise: acme, site: plant1, area: pack, line: line3}\n" + gateway)
            + console
        do { return .success(try Configuration.load(yaml: yaml)) } catch { return .failure(error) }
    }

    @Test func part11TakesSignersAndTheAuditTrail() throws {
        let loaded = load("  part11: true\n  audit_file: /var/lib/railgate/audit.log",
                          console: "console:\n  signers:\n    - {name: qa-lead, password_hash: \"\(Self.hash)\"}\n")
        let configuration = try loaded.get()
        #expect(configuration.gateway.part11 && configuration.console?.signers.map(\.name) == ["qa-lead"])
    }

    @Test func part11WithoutItsRecordsIsRefused() {
        guard case .failure(let error) = load("  part11: true", console: "console: {socket: /tmp/rg.sock}\n") else {
            Issue.record("accepted")
            return
        }
        #expect(error.issues.map(\.path) == ["gateway.part11", "console"])
        #expect(error.issues.first?.line == 4)
        let badHash = load("  audit_file: /tmp/a.log", console: "console:\n  signers:\n    - {name: qa, password_hash: plain}\n"
                           + "    - {name: qa, password_hash: \"\(Self.hash)\"}\n")
        guard case .failure(let refused) = badHash else { Issue.record("accepted"); return }
        #expect(refused.issues.map(\.path) == ["console.signers[0].password_hash", "console.signers[1].name"])
    }
}
