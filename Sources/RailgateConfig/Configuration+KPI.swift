import RailgateCore

/// The `kpi:` section: the shift calendar and the machines whose edge KPIs are computed.
public struct KPIConfig: Sendable, Equatable {
    public var shifts: [Shift]
    /// The rolling window of the `rolling_…` figures.
    public var rollingMinutes: Int
    /// How often the figures are published.
    public var publishMs: Int
    /// Where the KPI state is kept across restarts; nil: not kept.
    public var stateFile: String?
    public var machines: [KPIMachineConfig]
}

/// One machine of `kpi.machines`: tags by `device/tag` name.
public struct KPIMachineConfig: Sendable, Equatable {
    public var name: String
    public var stateTag: String
    public var states: [MachineState: [Int64]]
    public var reasonTag: String?
    public var totalTag: String
    public var goodTag: String?
    public var scrapTag: String?
    public var idealCycleNs: Int64
    public var counterModulus: UInt64?
}

extension Configuration {
    /// Every machine's published tags, after the south tags (`tags()`), on a device named after
    /// the machine.
    func kpiTags() -> [Tag] {
        (kpi?.machines ?? []).flatMap { machine in
            KPIOutput.tags(device: machine.name) { gateway.hierarchy.path(device: machine.name, tag: $0) }
        }
    }

    /// The machines with their tags as gateway indices into `tags` (the configuration's `tags()`).
    public func kpiMachines(tags: [Tag]) -> [KPIMachine] {
        guard let kpi else { return [] }
        let index = Self.tagIndex(tags)
        // The alarms' state tags come after the KPI tags.
        var next = tags.count - alarms.count - kpi.machines.count * KPIOutput.allCases.count
        return kpi.machines.compactMap { machine in
            defer { next += KPIOutput.allCases.count }
            guard let state = index[machine.stateTag], let total = index[machine.totalTag] else { return nil }
            let values = MachineState.allCases.flatMap { state in (machine.states[state] ?? []).map { ($0, state) } }
            return KPIMachine(name: machine.name, stateTag: state, stateValues: values,
                              reasonTag: machine.reasonTag.flatMap { index[$0] }, totalTag: total,
                              qualityTag: (machine.goodTag ?? machine.scrapTag).flatMap { index[$0] },
                              countsScrap: machine.scrapTag != nil, idealCycleNs: machine.idealCycleNs,
                              counterModulus: machine.counterModulus ?? Self.counterModulus(tags[total].dataType),
                              firstOutput: next)
        }
    }

    /// Tags by the names a KPI may give them: `device/tag` or the full path.
    static func tagIndex(_ tags: [Tag]) -> [String: Int] {
        var index: [String: Int] = [:]
        for (number, tag) in tags.enumerated() {
            index["\(tag.device)/\(tag.name)"] = index["\(tag.device)/\(tag.name)"] ?? number
            index[tag.path] = index[tag.path] ?? number
        }
        return index
    }

    /// Where a counter of this type wraps.
    static func counterModulus(_ type: DataType) -> UInt64 {
        switch type {
        case .uint8: 1 << 8
        case .int8: 1 << 7
        case .uint16: 1 << 16
        case .int16: 1 << 15
        case .uint32: 1 << 32
        case .int32: 1 << 31
        default: 1 << 63
        }
    }

    /// Reads `kpi:`; `south` are the tags of the south section, which the machines name.
    static func readKPI(_ root: NodeReader, south: [Tag], devices: Set<String>) -> KPIConfig? {
        guard let reader = root.mapping("kpi") else { return nil }
        reader.rejectUnknownKeys(["shifts", "rolling_minutes", "publish_ms", "state_file", "machines"])
        let shifts = readShifts(reader)
        var machines: [KPIMachineConfig] = []
        var names: Set<String> = []
        let index = tagIndex(south)
        for item in reader.sequence("machines", required: true) {
            guard let machine = readMachine(item, tags: south, index: index) else { continue }
            if !names.insert(machine.name).inserted {
                item.issue("name", "duplicate machine name \"\(machine.name)\"")
                continue
            }
            if devices.contains(machine.name) {
                let own = Set(south.filter { $0.device == machine.name }.map(\.name))
                let clashes = KPIOutput.allCases.map(\.tagName).filter(own.contains)
                if !clashes.isEmpty {
                    item.issue("name", "machine \"\(machine.name)\" publishes its KPIs as tags of device \(machine.name), which has tags of the same name: \(clashes.joined(separator: ", ")); name the machine otherwise")
                    continue
                }
            }
            machines.append(machine)
        }
        guard let shifts else { return nil }
        return KPIConfig(shifts: shifts, rollingMinutes: reader.int("rolling_minutes", range: 1...1440) ?? 60,
                         publishMs: reader.int("publish_ms", range: 100...3_600_000) ?? 1000,
                         stateFile: reader.string("state_file"), machines: machines)
    }

    /// `shifts: [{name: early, start: "06:00", end: "14:00"}, …]` in the gateway's local time;
    /// shifts may not overlap. A shift that ends when it starts lasts 24 hours.
    private static func readShifts(_ reader: NodeReader) -> [Shift]? {
        var shifts: [(shift: Shift, path: String, line: Int?)] = []
        var valid = true
        for item in reader.sequence("shifts", required: true) {
            item.rejectUnknownKeys(["name", "start", "end"])
            let name = checkName(item, "name")
            func time(_ key: String) -> Int? {
                guard let text = item.string(key, required: true) else { return nil }
                let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
                guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }),
                      let hour = parts[0], let minute = parts[1], (0...23).contains(hour), (0...59).contains(minute),
                      (0...59).contains(parts.count == 3 ? parts[2]! : 0) else {
                    item.issue(key, "expected a local time HH:MM or HH:MM:SS, found \"\(text)\"")
                    return nil
                }
                return hour * 3600 + minute * 60 + (parts.count == 3 ? parts[2]! : 0)
            }
            let start = time("start"), end = time("end")
            if let name, name.utf8.count > 32 {
                item.issue("name", "a shift name has at most 32 characters")
                valid = false
                continue
            }
            guard let name, let start, let end else { valid = false; continue }
            if let other = shifts.first(where: { $0.shift.name == name }) {
                item.issue("name", "duplicate shift name \"\(name)\" (first at line \(other.line.map(String.init) ?? "?"))")
                valid = false
                continue
            }
            let shift = Shift(name: name, startSecond: start, endSecond: end)
            for other in shifts where shift.ranges.contains(where: { range in other.shift.ranges.contains { $0.overlaps(range) } }) {
                item.issue(path: item.path, line: item.line,
                           "shift \(name) overlaps shift \(other.shift.name) (line \(other.line.map(String.init) ?? "?")); a moment belongs to one shift")
                valid = false
            }
            shifts.append((shift, item.path, item.line))
        }
        if reader.child("shifts") != nil && shifts.isEmpty && valid {
            reader.issue("shifts", "give at least one shift")
            valid = false
        }
        return valid ? shifts.map(\.shift) : nil
    }

    private static func readMachine(_ item: NodeReader, tags: [Tag], index: [String: Int]) -> KPIMachineConfig? {
        item.rejectUnknownKeys(["name", "state", "reason", "total", "good", "scrap", "ideal_cycle_s", "counter_modulus"])
        var valid = true
        let name = checkName(item, "name")
        /// A tag of the south section by `device/tag` or path; integer tags where `integer`.
        func tag(_ reader: NodeReader, _ key: String, required: Bool, integer: Bool = true) -> String? {
            guard let text = reader.string(key, required: required) else {
                if required { valid = false }
                return nil
            }
            guard let found = index[text] else {
                let hint = EditDistance.closest(text, among: tags.map { "\($0.device)/\($0.name)" })
                    .map { "; did you mean \"\($0)\"?" } ?? " (name tags as device/tag)"
                reader.issue(key, "no tag \"\(text)\"\(hint)")
                valid = false
                return nil
            }
            let kind = tags[found].kind
            if integer && kind != .int && kind != .uint {
                reader.issue(key, "\(text) is a \(tags[found].dataType)\(tags[found].scaling.isIdentity ? "" : ", scaled,") tag; a machine reads integer states and counts")
                valid = false
                return nil
            }
            return text
        }
        var stateTag: String?
        var states: [MachineState: [Int64]] = [:]
        if let state = item.mapping("state", required: true) {
            state.rejectUnknownKeys(["tag", "running", "idle", "stopped", "down"])
            stateTag = tag(state, "tag", required: true)
            var owner: [Int64: MachineState] = [:]
            for kind in [MachineState.running, .idle, .stopped, .down] {
                for entry in state.scalars(kind.name) {
                    guard let value = Int64(entry.text) else {
                        state.issue(path: entry.path, line: entry.line, "expected an integer state value, found \"\(entry.text)\"")
                        valid = false
                        continue
                    }
                    if let other = owner[value] {
                        state.issue(path: entry.path, line: entry.line, "\(value) is already a \(other.name) state")
                        valid = false
                        continue
                    }
                    owner[value] = kind
                    states[kind, default: []].append(value)
                }
            }
            if states[.running] == nil {
                state.issue(nil, "give the state values that mean running (running: [1])")
                valid = false
            }
        } else {
            valid = false
        }
        let reason = tag(item, "reason", required: false)
        let total = tag(item, "total", required: true)
        let good = tag(item, "good", required: false)
        let scrap = tag(item, "scrap", required: false)
        if good != nil && scrap != nil {
            item.issue("scrap", "give either good or scrap, not both")
            valid = false
        }
        var idealCycleNs: Int64 = 0
        if let seconds = item.double("ideal_cycle_s") {
            if seconds > 0 && seconds <= 86_400 {
                idealCycleNs = Int64((seconds * 1e9).rounded())
            } else {
                item.issue("ideal_cycle_s", "must be more than 0 and at most 86400 seconds")
                valid = false
            }
        } else {
            if item.child("ideal_cycle_s") == nil { item.issue(nil, "missing required key \"ideal_cycle_s\"") }
            valid = false
        }
        var modulus: UInt64?
        if let text = item.scalar("counter_modulus") {
            if let value = UInt64(text), value >= 2 {
                modulus = value
            } else {
                item.issue("counter_modulus", "expected an integer of 2 or more (65536 for a 16-bit counter), found \"\(text)\"")
                valid = false
            }
        }
        guard valid, let name, let stateTag, let total else { return nil }
        return KPIMachineConfig(name: name, stateTag: stateTag, states: states, reasonTag: reason, totalTag: total,
                                goodTag: good, scrapTag: scrap, idealCycleNs: idealCycleNs, counterModulus: modulus)
    }
}
