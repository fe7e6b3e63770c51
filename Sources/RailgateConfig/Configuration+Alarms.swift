import RailgateCore

/// One entry of `alarms:`: a limit alarm or an off-normal alarm on a tag. Each alarm publishes a
/// state tag of its own, `<device>/<name>`, on the device of the tag it watches.
public struct AlarmConfig: Sendable, Equatable {
    public var name: String
    /// The watched tag as written (`device/tag` or its full path).
    public var tag: String
    public var kind: AlarmKind
    public var severity: Int
    public var message: String
}

extension Configuration {
    /// At most this many alarms: each is a state tag and an OPC UA condition.
    static let maxAlarms = 10_000
    /// Values an off-normal alarm may list as normal.
    static let maxNormalValues = 64

    /// The alarms' state tags, after the south and KPI tags (`tags()`), in `alarms` order.
    func alarmTags(before: [Tag]) -> [Tag] {
        let index = Self.tagIndex(before)
        return alarms.compactMap { alarm in
            guard let watched = index[alarm.tag] else { return nil }
            let device = before[watched].device
            return Tag(name: alarm.name, device: device, path: gateway.hierarchy.path(device: device, tag: alarm.name),
                       dataType: .uint16, codes: AlarmEngine.stateCodes)
        }
    }

    /// The alarms with their watched and state tags as gateway indices into `tags` (the
    /// configuration's `tags()`).
    public func alarmDefinitions(tags: [Tag]) -> [AlarmDefinition] {
        let index = Self.tagIndex(tags)
        var output = tags.count - alarms.count
        return alarms.compactMap { alarm in
            defer { output += 1 }
            guard let watched = index[alarm.tag] else { return nil }
            return AlarmDefinition(name: alarm.name, tag: watched, output: output, kind: alarm.kind,
                                   severity: UInt16(clamping: alarm.severity), message: alarm.message)
        }
    }

    /// Reads `alarms:`; `tags` are the south and KPI tags the alarms watch.
    static func readAlarms(_ root: NodeReader, tags: [Tag]) -> [AlarmConfig] {
        let items = root.sequence("alarms")
        if items.count > maxAlarms {
            root.issue("alarms", "\(items.count) alarms, at most \(maxAlarms)")
            return []
        }
        let index = tagIndex(tags)
        let tagNames = Set(tags.map { "\($0.device)/\($0.name)" })
        var alarms: [AlarmConfig] = []
        // Per device: the alarm names taken and where.
        var taken: [String: (path: String, line: Int?)] = [:]
        for item in items {
            item.rejectUnknownKeys(["name", "tag", "limits", "deadband", "normal", "severity", "message"])
            let name = checkName(item, "name")
            var valid = name != nil
            var watched: Int?
            if let text = item.string("tag", required: true) {
                if let found = index[text] {
                    watched = found
                    if tags[found].kind == .string {
                        item.issue("tag", "\(text) is a string tag; alarms watch numeric and boolean tags")
                        valid = false
                    }
                } else {
                    let hint = EditDistance.closest(text, among: tags.map { "\($0.device)/\($0.name)" })
                        .map { "; did you mean \"\($0)\"?" } ?? " (name tags as device/tag)"
                    item.issue("tag", "no tag \"\(text)\"\(hint)")
                    valid = false
                }
            } else {
                valid = false
            }
            let kind = readAlarmKind(item, watched.map { tags[$0] })
            if kind == nil { valid = false }
            let severity = item.int("severity", range: 1...1000) ?? 500
            if let name, let watched {
                let device = tags[watched].device
                if tagNames.contains("\(device)/\(name)") {
                    item.issue("name", "device \(device) has a tag \(name): an alarm publishes its state as tag \(device)/\(name); name the alarm otherwise")
                    valid = false
                } else if let first = taken["\(device)/\(name)"] {
                    item.issue("name", "alarm \(device)/\(name) is defined twice (first at \(first.path), line \(first.line.map(String.init) ?? "?"))")
                    valid = false
                } else {
                    taken["\(device)/\(name)"] = (item.path, item.line)
                }
            }
            guard valid, let name, let watched, let kind, let text = item.string("tag") else { continue }
            let message = item.string("message") ?? "\(tags[watched].device)/\(tags[watched].name) \(name)"
            alarms.append(AlarmConfig(name: name, tag: text, kind: kind, severity: severity, message: message))
        }
        return alarms
    }

    /// `limits: {high_high, high, low, low_low}` with `deadband`, or `normal: [values]`.
    private static func readAlarmKind(_ item: NodeReader, _ tag: Tag?) -> AlarmKind? {
        let hasLimits = item.child("limits") != nil, hasNormal = item.child("normal") != nil
        guard hasLimits != hasNormal else {
            item.issue(hasLimits ? "normal" : nil,
                       "give either limits {high_high, high, low, low_low} or normal [values], \(hasLimits ? "not both" : "found neither")")
            return nil
        }
        if hasNormal {
            if item.child("deadband") != nil {
                item.issue("deadband", "an off-normal alarm has no deadband")
                return nil
            }
            var values: [Double] = []
            let entries = item.scalars("normal")
            guard !entries.isEmpty, entries.count <= maxNormalValues else {
                item.issue("normal", "list 1 to \(maxNormalValues) normal values")
                return nil
            }
            for entry in entries {
                let text = entry.text.lowercased()
                let value: Double? = text == "true" ? 1 : text == "false" ? 0 : Double(entry.text)
                guard let value, value.isFinite else {
                    item.issue(path: entry.path, line: entry.line, "expected a number or true/false, found \"\(entry.text)\"")
                    return nil
                }
                if let tag, tag.codes == nil, tag.kind != .double, tag.scaling.isIdentity, value.rounded() != value {
                    item.issue(path: entry.path, line: entry.line, "\(tag.device)/\(tag.name) has integer values; \(entry.text) never is one")
                    return nil
                }
                values.append(value)
            }
            return .offNormal(normal: values)
        }
        guard let limits = item.mapping("limits") else { return nil }
        limits.rejectUnknownKeys(["high_high", "high", "low", "low_low"])
        let highHigh = limits.double("high_high"), high = limits.double("high")
        let low = limits.double("low"), lowLow = limits.double("low_low")
        let given = [("low_low", lowLow), ("low", low), ("high", high), ("high_high", highHigh)]
            .compactMap { name, value in value.map { (name, $0) } }
        guard !given.isEmpty else {
            limits.issue(nil, "give at least one of high_high, high, low, low_low")
            return nil
        }
        for (lower, upper) in zip(given, given.dropFirst()) where lower.1 >= upper.1 {
            limits.issue(upper.0, "\(upper.0) \(upper.1) must be above \(lower.0) \(lower.1)")
            return nil
        }
        let deadband = item.double("deadband") ?? 0
        if deadband < 0 {
            item.issue("deadband", "must be 0 or more")
            return nil
        }
        if let tag, tag.kind == .bool {
            item.issue("limits", "\(tag.device)/\(tag.name) is a boolean tag; give normal [false] (or [true]) for an off-normal alarm")
            return nil
        }
        return .limit(highHigh: highHigh, high: high, low: low, lowLow: lowLow, deadband: deadband)
    }
}
