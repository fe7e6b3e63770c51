import FoundationEssentials
import RailgateConfig
import RailgateCore
import RailgateYAML

/// One console connection: operational commands, and configuration mode on
/// a private candidate copy. Every command returns text for an 80×24 screen.
public final class ConsoleSession {
    let control: any GatewayControl
    let store: ConfigStore
    /// Who is on the console: `user (uid N)`.
    public let user: String
    private var candidate: CandidateConfig?
    /// The signature sent with the line being executed, if any.
    private var signature: Signature?
    /// Signatures refused in this session; at `maxSignatureFailures` the session ends.
    private var signatureFailures = 0
    static let maxSignatureFailures = 3
    /// The running text the candidate was copied from, to detect commits by other consoles.
    private var candidateBase = ""

    public init(control: any GatewayControl, store: ConfigStore, user: String) {
        self.control = control
        self.store = store
        self.user = user
    }

    public var prompt: String { candidate == nil ? "railgate> " : "railgate# " }

    public struct Reply {
        public var ok: Bool
        public var text: String
        /// The session ends (exit in operational mode).
        public var close = false
        /// The command needs an electronic signature (Part 11 mode): the client asks for one and
        /// sends the line again with it.
        public var needsSignature = false
    }

    static let operational = ["show", "monitor", "write", "diag", "test", "opcua", "configure", "help", "exit"]
    static let configuration = ["set", "delete", "load", "show", "validate", "commit", "confirm", "rollback", "discard",
                                "help", "exit"]
    static let showTargets = ["status", "devices", "tags", "tag", "values", "alarms", "stats", "config", "log", "audit"]

    public func execute(_ line: String, signature: Signature? = nil) -> Reply {
        self.signature = signature
        defer { self.signature = nil }
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let command = words.first else { return Reply(ok: true, text: "") }
        let args = Array(words.dropFirst())
        if command == "?" || command == "help" { return Reply(ok: true, text: help()) }
        if candidate != nil { return configure(command, args, line: line) }
        switch command {
        case "show": return show(args)
        case "write": return write(args)
        case "diag": return diagnose(args)
        case "test":
            guard args == ["mqtt"] else { return fail("usage: test mqtt") }
            let (ok, text) = control.testMQTT()
            return Reply(ok: ok, text: ok ? text : "error: " + text)
        case "opcua": return opcua(args)
        case "monitor":
            // The client polls `show values` until a key is pressed.
            guard args.first == "tag", args.count >= 2 else { return fail("usage: monitor tag NAME…") }
            return show(["values"] + args.dropFirst())
        case "configure":
            let running = control.running()
            do {
                candidate = try CandidateConfig(yaml: running.text,
                                                baseDirectory: Path.directory(of: running.path))
                candidateBase = running.text
            } catch {
                return fail("cannot edit the running configuration: \(error)")
            }
            var text = "entering configuration mode (a private copy of the running configuration)"
            if let pending = store.pendingConfirmation {
                text += "\n\(pending.user) has a commit confirmed pending until \(Self.clock(pending.deadline))"
            }
            return Reply(ok: true, text: text)
        case "exit", "quit", "logout":
            return Reply(ok: true, text: "", close: true)
        default:
            return unknown(command, among: Self.operational)
        }
    }

    // MARK: Configuration mode

    private func configure(_ command: String, _ args: [String], line: String) -> Reply {
        guard var current = candidate else { return fail("not in configuration mode") }
        switch command {
        case "set":
            guard args.count >= 2 else { return fail("usage: set PATH VALUE") }
            let path = args[0]
            let value = Self.rest(of: line, after: 2)
            do {
                try current.set(path, to: value)
            } catch {
                return fail("\(error)")
            }
            if let problem = problem(in: current, at: path) { return fail(problem) }
            candidate = current
            return Reply(ok: true, text: "")
        case "delete":
            guard args.count == 1 else { return fail("usage: delete PATH") }
            do {
                try current.delete(args[0])
            } catch {
                return fail("\(error)")
            }
            candidate = current
            return Reply(ok: true, text: "")
        case "load":
            guard args.count == 1 else { return fail("usage: load FILE (a whole configuration replaces the candidate)") }
            let text: String
            do {
                text = try ConfigText.text(of: args[0])
            } catch {
                return fail("\(args[0])\(error.line.map { ":\($0)" } ?? ""): \(error.message)")
            }
            do {
                candidate = try CandidateConfig(yaml: text, baseDirectory: current.baseDirectory)
            } catch {
                return fail("\(args[0]): \(error)")
            }
            return Reply(ok: true, text: "loaded \(args[0]) into the candidate; show | compare to review")
        case "show":
            if args.joined(separator: " ") == "| compare" || args == ["compare"] {
                let diff = LineDiff.compare(Self.normalized(control.running().text, base: current.baseDirectory), current.yaml)
                return Reply(ok: true, text: diff.isEmpty ? "no changes" : diff)
            }
            if args.isEmpty { return Reply(ok: true, text: Self.masked(current.yaml)) }
            do {
                guard let node = try current.value(at: args[0]) else { return fail("\(args[0]) is not set") }
                return Reply(ok: true, text: Self.masked(YAML.serialize(node)))
            } catch {
                return fail("\(error)")
            }
        case "validate":
            switch current.validate() {
            case .success: return Reply(ok: true, text: "configuration check succeeds")
            case .failure(let error): return fail(Self.issues(error))
            }
        case "commit":
            var words = args
            var minutes: Double?
            if words.first == "confirmed" {
                guard words.count >= 2, let value = Double(words[1]), value > 0, value <= 1440 else {
                    return fail("usage: commit confirmed MINUTES [comment] (1…1440)")
                }
                minutes = value
                words.removeFirst(2)
            }
            let comment = words.isEmpty ? nil : words.joined(separator: " ")
            var signedBy: String?
            if control.running().configuration.gateway.part11 {
                switch sign(action: "commit", reason: comment) {
                case .success(let signer): signedBy = signer
                case .failure(let refusal): return refusal.reply
                }
            }
            if control.running().text != candidateBase {
                return fail("the running configuration changed since you entered configure (another console committed); show | compare, then discard and edit again")
            }
            let configuration: Configuration
            switch current.validate() {
            case .success(let valid): configuration = valid
            case .failure(let error): return fail("commit refused; nothing applied:\n" + Self.issues(error))
            }
            let text = current.yaml
            do {
                let message = try store.commit(configuration, text: text, user: user, comment: comment, confirmMinutes: minutes,
                                               signedBy: signedBy)
                candidateBase = control.running().text
                candidate = try? CandidateConfig(yaml: candidateBase, baseDirectory: current.baseDirectory)
                return Reply(ok: true, text: message)
            } catch {
                return fail("\(error)")
            }
        case "confirm":
            return Reply(ok: true, text: store.confirm(user: user))
        case "rollback":
            guard args.count == 1, let n = Int(args[0]) else { return fail("usage: rollback N (1 = the configuration before the running one)") }
            do {
                let text = try store.history(n)
                candidate = try CandidateConfig(yaml: text, baseDirectory: current.baseDirectory)
                return Reply(ok: true, text: "configuration \(n) commit(s) back loaded into the candidate; show | compare, then commit")
            } catch {
                return fail("\(error)")
            }
        case "discard":
            let running = control.running()
            candidate = try? CandidateConfig(yaml: running.text, baseDirectory: current.baseDirectory)
            candidateBase = running.text
            return Reply(ok: true, text: "candidate discarded: it is the running configuration again")
        case "exit", "quit":
            let changed = LineDiff.compare(Self.normalized(control.running().text, base: current.baseDirectory), current.yaml)
            candidate = nil
            return Reply(ok: true, text: changed.isEmpty ? "" : "uncommitted changes discarded")
        default:
            return unknown(command, among: Self.configuration)
        }
    }

    /// A problem the candidate has at `path` (or a parent of it): the `set`
    /// is refused for it; problems elsewhere wait for `validate`/`commit`.
    private func problem(in candidate: CandidateConfig, at path: String) -> String? {
        guard case .failure(let error) = candidate.validate() else { return nil }
        let canonical = (try? Self.canonicalPath(path, in: candidate)) ?? path
        for issue in error.issues where !issue.path.isEmpty && (canonical == issue.path || canonical.hasPrefix(issue.path + ".")
                                                                  || canonical.hasPrefix(issue.path + "[")) {
            var message = "\(issue.path): \(issue.message)"
            if let suggestion = Self.suggestion(for: issue) { message += "; did you mean \"\(suggestion)\"?" }
            return message + "\nthe candidate is unchanged"
        }
        return nil
    }

    /// `south[tcp1].devices[meter1]` → `south[0].devices[0]`, as configuration issues name paths.
    static func canonicalPath(_ path: String, in candidate: CandidateConfig) throws -> String {
        var node: Node? = candidate.root
        var out = ""
        for step in try CandidateConfig.parse(path) {
            switch step {
            case .key(let key):
                out += out.isEmpty ? key : ".\(key)"
                node = node?.mapping?[key]
            case .index(let index):
                out += "[\(index)]"
                node = node?.sequence.flatMap { index < $0.count ? $0[index] : nil }
            case .named(let name):
                let index = node?.sequence?.firstIndex { $0.mapping?["name"]?.string == name } ?? 0
                out += "[\(index)]"
                node = node?.sequence.flatMap { index < $0.count ? $0[index] : nil }
            case .append:
                let index = max(0, (node?.sequence?.count ?? 1) - 1)
                out += "[\(index)]"
                node = node?.sequence.flatMap { index < $0.count ? $0[index] : nil }
            }
        }
        return out
    }

    /// For "unknown key "writs" (expected one of: …)": the closest expected key.
    static func suggestion(for issue: ConfigIssue) -> String? {
        guard issue.message.hasPrefix("unknown key"), let open = issue.message.firstRange(of: "expected one of: ") else { return nil }
        let listed = issue.message[open.upperBound...].dropLast().split(separator: ",").map { $0.trimmed() }
        let key = issue.path.split(separator: ".").last.map(String.init) ?? ""
        return closest(key, among: listed)
    }

    // MARK: Operational commands

    private func opcua(_ args: [String]) -> Reply {
        switch args.first {
        case "certificates":
            guard let folders = control.opcuaCertificates() else {
                return fail("the OPC UA server has no secured channels (opcua.security)")
            }
            return Reply(ok: true, text: StatusReport.certificateLines(folders).joined(separator: "\n"))
        case "trust" where args.count == 2:
            switch control.opcuaTrust(args[1]) {
            case .success(let file):
                control.audit("opcua certificate trusted", user: user, details: [("file", file)])
                return Reply(ok: true, text: "trusted \(file); the client may connect now")
            case .failure(let error):
                return fail(error.description)
            }
        default:
            return fail("usage: opcua certificates | opcua trust THUMBPRINT")
        }
    }

    private func show(_ args: [String]) -> Reply {
        guard let what = args.first else { return fail("show what? \(Self.showTargets.joined(separator: ", "))") }
        let table = control.tagTable()
        switch what {
        case "status": return Reply(ok: true, text: StatusReport.statusLines(control.status()).joined(separator: "\n"))
        case "devices": return Reply(ok: true, text: StatusReport.deviceLines(control.southStatus()).joined(separator: "\n"))
        case "stats": return Reply(ok: true, text: StatusReport.statsLines(control.southStatus(), north: control.northStatus()).joined(separator: "\n"))
        case "config": return Reply(ok: true, text: Self.masked(control.running().text))
        case "log":
            guard let count = Self.lineCount(args, default: 40) else {
                return fail("usage: show log [N] (the last N lines, 1…\(Self.maxShownLines))")
            }
            return Reply(ok: true, text: control.recentLog(count).joined(separator: "\n"))
        case "audit":
            guard let count = Self.lineCount(args, default: 20) else {
                return fail("usage: show audit [N] (the last N entries, 1…\(Self.maxShownLines))")
            }
            guard let path = control.auditPath else { return fail("no audit trail: set gateway.audit_file") }
            guard let lines = FileTail.lastLines(of: path, count: count) else { return fail("cannot read the audit trail \(path)") }
            return Reply(ok: true, text: lines.map { Self.auditLine($0) }.joined(separator: "\n"))
        case "tags":
            let pattern = args.count > 1 ? args[1] : "*"
            var rows: [String] = []
            for (index, tag) in table.tags.enumerated() where Self.glob(pattern, matches: tag.path) || Self.glob(pattern, matches: "\(tag.device)/\(tag.name)") {
                rows.append(Self.row(tag, table.state(index)))
            }
            if rows.isEmpty { return fail("no tag matches \"\(pattern)\"") }
            return Reply(ok: true, text: rows.joined(separator: "\n"))
        case "values":
            var rows: [String] = []
            for name in args.dropFirst() {
                guard let index = resolve(name, in: table) else { return unknownTag(name, in: table) }
                rows.append(Self.row(table.tags[index], table.state(index)))
            }
            return Reply(ok: true, text: rows.joined(separator: "\n"))
        case "alarms":
            return alarms(table, all: args.count > 1 && args[1] == "all")
        case "tag":
            guard args.count == 2 else { return fail("usage: show tag NAME (device/tag or the full path)") }
            guard let index = resolve(args[1], in: table) else { return unknownTag(args[1], in: table) }
            return Reply(ok: true, text: detail(index, table))
        default:
            return unknown(what, among: Self.showTargets, prefix: "show ")
        }
    }

    /// The alarms not at rest (active or waiting for acknowledgment), or all with `all`: state,
    /// the watched tag's value, severity. Read from the alarms' state tags.
    private func alarms(_ table: TagTable, all: Bool) -> Reply {
        let configuration = control.running().configuration
        let definitions = configuration.alarmDefinitions(tags: table.tags)
        guard !definitions.isEmpty else { return Reply(ok: true, text: "no alarms configured (alarms: in the configuration)") }
        var rows: [String] = []
        for alarm in definitions {
            guard let output = alarm.output, table.tags.indices.contains(output), table.tags.indices.contains(alarm.tag) else { continue }
            let state = table.state(output)
            let code = CodeMap.raw(state.sample.value, kind: .uint) ?? 0
            guard all || (state.sample.quality.reason != .waitingForInitialData && code != 0) else { continue }
            let stateTag = table.tags[output], watched = table.tags[alarm.tag]
            let name = "\(stateTag.device)/\(stateTag.name)"
            let text = state.sample.quality.reason == .waitingForInitialData ? "—"
                : (AlarmEngine.stateCodes.code(for: code) ?? "\(code)")
                    + (state.sample.quality.isGood ? "" : " (\(state.sample.quality))")
            rows.append(name.padded(to: max(name.count, 30)) + " "
                        + text.padded(to: max(text.count, 26))
                        + " \(watched.device)/\(watched.name) = \(Self.value(watched, table.state(alarm.tag))), severity \(alarm.severity)")
        }
        if rows.isEmpty { return Reply(ok: true, text: "no alarm is active or waiting for acknowledgment (show alarms all)") }
        return Reply(ok: true, text: rows.joined(separator: "\n"))
    }

    private func write(_ args: [String]) -> Reply {
        guard args.count >= 3, args[0] == "tag" else { return fail("usage: write tag NAME VALUE [-- REASON]") }
        let table = control.tagTable()
        guard let index = resolve(args[1], in: table) else { return unknownTag(args[1], in: table) }
        let tag = table.tags[index]
        // `-- REASON`: why (the audit trail keeps it; Part 11 mode requires it).
        let separator = args.firstIndex(of: "--")
        let reason = separator.map { args[($0 + 1)...].joined(separator: " ") }.flatMap { $0.isEmpty ? nil : $0 }
        guard (separator ?? args.count) > 2 else { return fail("usage: write tag NAME VALUE [-- REASON]") }
        let text = args[2..<(separator ?? args.count)].joined(separator: " ")
        let value: WriteValue
        switch tag.kind {
        case .bool:
            switch text.lowercased() {
            case "true", "1", "on": value = .bool(true)
            case "false", "0", "off": value = .bool(false)
            default: return fail("\(tag.path) is a bool: write true or false, not \"\(text)\"")
            }
        case .string:
            value = .text(text)
        default:
            if let number = Double(text) {
                value = .number(number)
            } else if tag.codes != nil {
                value = .text(text)
            } else {
                return fail("\(tag.path) is a number (\(tag.dataType)), not \"\(text)\"")
            }
        }
        let outcome = control.write(path: tag.path, value: value, origin: "console:\(user)", reason: reason)
        return Reply(ok: outcome == .done, text: "\(tag.path) ← \(value): \(outcome)")
    }

    /// `diag modbus read BUS UNIT TABLE ADDR COUNT`: raw registers or bits, 0-based addresses.
    private func diagnose(_ args: [String]) -> Reply {
        let usage = "usage: diag modbus read BUS UNIT TABLE ADDR COUNT (TABLE: \(ModbusTable.allCases.map(\.rawValue).joined(separator: ", ")); ADDR 0-based)"
        guard args.count == 7, args[0] == "modbus", args[1] == "read" else { return fail(usage) }
        guard let unit = Int(args[3]), (0...255).contains(unit) else { return fail("unit \"\(args[3])\" must be 0…255") }
        guard let table = ModbusTable(rawValue: args[4]) else {
            let names = ModbusTable.allCases.map(\.rawValue)
            let near = Self.closest(args[4], among: names).map { "; did you mean \"\($0)\"?" } ?? ""
            return fail("unknown table \"\(args[4])\"\(near) (\(names.joined(separator: ", ")))")
        }
        guard let start = Int(args[5]), (0...65535).contains(start) else { return fail("address \"\(args[5])\" must be 0…65535") }
        guard let count = Int(args[6]), count >= 1, count <= 65536 - start else {
            return fail("count \"\(args[6])\" must be at least 1 and stay within addresses 0…65535")
        }
        switch control.modbusRead(bus: args[2], unit: unit, table: table, start: start, count: count) {
        case .failure(let error):
            return fail("\(error)")
        case .success(let values):
            let rows = values.enumerated().map { offset, value in
                let address = String(start + offset).padded(to: 6)
                if table.isBits { return "\(address) \(value)" }
                let hex = String(value, radix: 16, uppercase: true)
                return "\(address) 0x\(String(repeating: "0", count: 4 - hex.count))\(hex)  \(value)  \(Int16(bitPattern: value))"
            }
            let header = table.isBits ? "address value" : "address hex     unsigned  signed"
            return Reply(ok: true, text: ([header] + rows).joined(separator: "\n"))
        }
    }

    private func detail(_ index: Int, _ table: TagTable) -> String {
        let tag = table.tags[index]
        let state = table.state(index)
        var lines = [
            "tag       \(tag.path)",
            "value     \(Self.value(tag, state))\(tag.unit.map { " \($0)" } ?? "")",
            "quality   \(state.sample.quality)",
            "source ts \(Self.timestamp(state.sample.timestamp))",
            "gateway   \(Self.timestamp(state.gatewayTimestamp))",
            "source    \(control.source(ofTag: index))",
            "type      \(tag.dataType)\(tag.scaling.isIdentity ? "" : ", scale \(tag.scaling.scale) offset \(tag.scaling.offset)")"
                + (tag.scaling.converts
                   ? ", converted to \(tag.unit ?? "?") × \(tag.scaling.conversionScale) + \(tag.scaling.conversionOffset)" : ""),
            "writable  \(tag.writable ? "yes" : "no")",
        ]
        if let codes = tag.codes { lines.append("map       \(codes.name) (\(codes.count) codes)") }
        if tag.deadband > 0 { lines.append("deadband  \(tag.deadband)") }
        if let range = tag.range { lines.append("range     \(range.lowerBound) … \(range.upperBound)") }
        return lines.joined(separator: "\n")
    }

    /// `device/tag`, a full path, or a unique tag name.
    private func resolve(_ name: String, in table: TagTable) -> Int? {
        if let index = table.index(ofPath: name) { return index }
        let matches = table.tags.indices.filter {
            "\(table.tags[$0].device)/\(table.tags[$0].name)" == name || table.tags[$0].path.hasSuffix("/" + name)
        }
        return matches.count == 1 ? matches[0] : nil
    }

    private func unknownTag(_ name: String, in table: TagTable) -> Reply {
        let names = table.tags.map { "\($0.device)/\($0.name)" }
        if let near = Self.closest(name, among: names) { return fail("no tag \"\(name)\"; did you mean \"\(near)\"?") }
        return fail("no tag \"\(name)\" (show tags lists them)")
    }

    private func unknown(_ word: String, among commands: [String], prefix: String = "") -> Reply {
        if let near = Self.closest(word, among: commands) {
            return fail("unknown command \"\(prefix)\(word)\"; did you mean \"\(prefix)\(near)\"?")
        }
        return fail("unknown command \"\(prefix)\(word)\"; one of: \(commands.joined(separator: ", "))")
    }

    private func fail(_ text: String) -> Reply { Reply(ok: false, text: "error: " + text) }

    /// The most lines `show log N` and `show audit N` print.
    static let maxShownLines = 10_000

    /// The N of `show log N` / `show audit N` (`args[1]`), or `fallback` without one; nil when it is
    /// not a number in 1…maxShownLines.
    static func lineCount(_ args: [String], default fallback: Int) -> Int? {
        guard args.count > 1 else { return fallback }
        guard args.count == 2, let count = Int(args[1]), (1...maxShownLines).contains(count) else { return nil }
        return count
    }

    private func help() -> String {
        if candidate != nil {
            return """
            set PATH VALUE           change the candidate, e.g. set south[tcp1].devices[meter1].poll_ms 500
            delete PATH              remove a key or list element
            load FILE                replace the candidate with a whole file
            show [PATH]              the candidate (or one part of it)
            show | compare           differences from the running configuration
            validate                 check the candidate as railgate check does
            commit [COMMENT]         apply and keep; recorded in the audit trail
            commit confirmed MIN [COMMENT]   apply; goes back by itself unless confirmed in time
            confirm                  keep a commit confirmed
            rollback N               load the configuration N commits back into the candidate
            discard                  drop the candidate's changes
            exit                     leave configuration mode
            """
        }
        return """
        show status | devices | stats | config | log [N] | audit [N]
        show tags [GLOB]         tags with value and quality, e.g. show tags meter1/*
        show tag NAME            value, quality, timestamps and source address
        show alarms [all]        alarms active or waiting for acknowledgment (all: every alarm)
        monitor tag NAME…        live values until a key is pressed
        write tag NAME VALUE     write through the write policy (audited)
        diag modbus read BUS UNIT TABLE ADDR COUNT   raw registers or bits (0-based address)
        test mqtt                publish a test message and wait for the broker's acknowledgement
        opcua certificates       OPC UA client certificates rejected and trusted
        opcua trust THUMBPRINT   trust a rejected client certificate (8+ characters; audited)
        configure                edit a candidate configuration
        exit
        """
    }

    // MARK: Formatting

    static func row(_ tag: RailgateCore.Tag, _ state: TagState) -> String {
        let value = Self.value(tag, state) + (tag.unit.map { " \($0)" } ?? "")
        let quality = state.sample.quality.description
        let name = "\(tag.device)/\(tag.name)"
        return name.padded(to: max(name.count, 30)) + " "
            + value.padded(to: max(value.count, 20)) + " " + quality
    }

    static func value(_ tag: RailgateCore.Tag, _ state: TagState) -> String {
        let sample = state.sample
        if sample.quality.reason == .waitingForInitialData { return "—" }
        if let codes = tag.codes, let raw = CodeMap.raw(sample.value, kind: tag.kind) {
            return "\(raw) (\(codes.code(for: raw) ?? "unmapped"))"
        }
        return tag.kind == .string ? "\"\(state.text ?? "")\"" : sample.value.text(tag.kind)
    }

    static func timestamp(_ ns: Int64) -> String {
        ns > 0 ? UTCText.iso8601(ns: ns) : "—"
    }

    static func clock(_ date: Date) -> String {
        UTCText.iso8601(ns: Int64(date.timeIntervalSince1970.rounded(.down)) * 1_000_000_000, milliseconds: false)
    }

    /// One audit entry as a readable line: time, event, user, details.
    static func auditLine(_ json: String) -> String {
        guard let entry = try? JSONDecoder().decode(AuditLine.self, from: Data(json.utf8)) else { return json }
        let details = (entry.details ?? [:]).filter { $0.key != "diff" }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(entry.time ?? "") \(entry.event ?? "") by \(entry.user ?? "") \(details)"
    }

    /// What `auditLine` shows of an audit entry (every detail is text: `AuditTrail.append`).
    private struct AuditLine: Decodable {
        var time: String?
        var event: String?
        var user: String?
        var details: [String: String]?
    }

    /// Configuration text with password values masked.
    static func masked(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { LineDiff.maskingSecrets(String($0)) }
            .joined(separator: "\n")
    }

    /// Text the user typed after the first `count` words, as typed.
    static func rest(of line: String, after count: Int) -> String {
        var rest = Substring(line)
        for _ in 0..<count {
            rest = rest.drop { $0 == " " }
            rest = rest.drop { $0 != " " }
        }
        return rest.trimmed()
    }

    /// The running text as the candidate would print it, so a diff shows only edits.
    static func normalized(_ text: String, base: String) -> String {
        (try? CandidateConfig(yaml: text, baseDirectory: base).yaml) ?? text
    }

    static func issues(_ error: ConfigError) -> String {
        error.issues.map { issue in
            let near = suggestion(for: issue).map { "; did you mean \"\($0)\"?" } ?? ""
            return "\(issue.line.map { "line \($0): " } ?? "")\(issue.path): \(issue.message)\(near)"
        }.joined(separator: "\n")
    }

    /// Shell-style `*` and `?` matching.
    static func glob(_ pattern: String, matches text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// The candidate within edit distance 2 (or a prefix match), if any.
    static func closest(_ word: String, among candidates: [String]) -> String? {
        EditDistance.closest(word, among: candidates)
    }

    // MARK: Completion

    /// Words that complete the last word of `line`.
    public func complete(_ line: String) -> [String] {
        let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let partial = words.last ?? ""
        let before = words.dropLast().filter { !$0.isEmpty }
        var options: [String] = []
        if before.isEmpty {
            options = candidate == nil ? Self.operational : Self.configuration
        } else if before == ["show"] && candidate == nil {
            options = Self.showTargets
        } else if before.first == "monitor" || (before.count == 2 && (before == ["show", "tag"] || before == ["write", "tag"]))
                    || before == ["show", "values"] {
            options = control.tagTable().tags.map { "\($0.device)/\($0.name)" }
        } else if before == ["monitor"] || before == ["write"] {
            options = ["tag"]
        } else if candidate != nil && before.count == 1 && (before[0] == "set" || before[0] == "delete" || before[0] == "show") {
            options = pathCompletions(partial)
        }
        return options.filter { $0.hasPrefix(partial) }.sorted()
    }

    private func pathCompletions(_ partial: String) -> [String] {
        guard let candidate else { return [] }
        let parent: String
        let prefix: String
        if let dot = partial.lastIndex(of: ".") {
            parent = String(partial[..<dot])
            prefix = parent + "."
        } else {
            parent = ""
            prefix = ""
        }
        let node = parent.isEmpty ? candidate.root : ((try? candidate.value(at: parent)) ?? nil)
        guard let node else { return [] }
        if let mapping = node.mapping {
            return mapping.keys.flatMap { key -> [String] in
                var items = ["\(prefix)\(key)"]
                if let list = mapping[key]?.sequence {
                    items += list.compactMap { $0.mapping?["name"]?.string }.map { "\(prefix)\(key)[\($0)]" }
                }
                return items
            }
        }
        return []
    }

    // MARK: Electronic signatures (Part 11 mode)

    struct Refusal: Error {
        var reply: Reply
    }

    /// The signer of a command that changes the configuration, in Part 11 mode: a reason must be
    /// given, and a signer of `console.signers` must sign with their password (21 CFR 11.200:
    /// two components, name and password). A refused signature is audited.
    func sign(action: String, reason: String?) -> Result<String, Refusal> {
        guard let reason, reason.contains(where: { !$0.isWhitespace }) else {
            return .failure(Refusal(reply: fail("Part 11 mode: a \(action) needs its reason: \(action) REASON")))
        }
        guard let signature else {
            return .failure(Refusal(reply: Reply(ok: false, text: "Part 11 mode: sign the \(action) (signer and password)",
                                                 needsSignature: true)))
        }
        guard control.verifySigner(signature.signer, password: signature.password) else {
            signatureFailures += 1
            control.audit("signature refused", user: user, details: [
                ("signer", signature.signer), ("action", action), ("reason", reason),
                ("attempt", "\(signatureFailures) of \(Self.maxSignatureFailures)")])
            // 21 CFR 11.300(d): repeated attempts end the session (and are in the trail).
            var reply = fail("signature refused (unknown signer or wrong password); nothing applied")
            if signatureFailures >= Self.maxSignatureFailures {
                reply.text += "\n\(Self.maxSignatureFailures) signatures refused: the session ends"
                reply.close = true
            }
            return .failure(Refusal(reply: reply))
        }
        return .success(signature.signer)
    }
}

/// An electronic signature sent with a command line: who signs and their password.
public struct Signature: Sendable {
    public var signer: String
    public var password: String

    public init(signer: String, password: String) {
        self.signer = signer
        self.password = password
    }
}
