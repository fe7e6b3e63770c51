import RailgateCore

/// The `history:` section: which tags keep a history on disk for OPC UA HistoryRead, how much of
/// it, and where.
public struct HistoryConfig: Sendable, Equatable {
    /// One file per historized tag lives here.
    public var directory: String
    /// What every history file together may take on disk; `railgate check` refuses a
    /// configuration whose files would be larger.
    public var maxBytes: Int
    /// How often written values are forced to disk (fdatasync).
    public var syncIntervalMs: Int
    /// The most values one HistoryRead returns per node; more come with a continuation point.
    public var maxReadValues: Int
    public var tags: [HistoryTagConfig]

    public init(directory: String, maxBytes: Int, syncIntervalMs: Int, maxReadValues: Int, tags: [HistoryTagConfig]) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.syncIntervalMs = syncIntervalMs
        self.maxReadValues = maxReadValues
        self.tags = tags
    }

    /// Bytes of a history file's header and of one value in it (`RailgateHistory` writes them).
    public static let headerBytes = 64
    public static let recordBytes = 40

    /// The size on disk of a history file holding `values` values.
    public static func fileBytes(values: Int) -> Int { headerBytes + values * recordBytes }
}

/// One entry of `history.tags`: a tag (`device/tag`, the full path, or `device/*` for all tags
/// of a device) and its retention.
public struct HistoryTagConfig: Sendable, Equatable {
    public var tag: String
    /// The newest this many values are kept (the file is a ring of this many).
    public var maxValues: Int
    /// Values older than this are not served (and are overwritten as the ring turns); nil: kept
    /// until overwritten.
    public var maxAgeHours: Int?
}

/// A tag whose history is kept, resolved to its gateway index.
public struct HistorizedTag: Sendable, Equatable {
    public var index: Int
    public var maxValues: Int
    public var maxAgeNs: Int64?

    public init(index: Int, maxValues: Int, maxAgeNs: Int64?) {
        self.index = index
        self.maxValues = maxValues
        self.maxAgeNs = maxAgeNs
    }
}

extension Configuration {
    /// The historized tags among `tags` (the configuration's `tags()`), by gateway index.
    public func historizedTags(_ tags: [Tag]) -> [HistorizedTag] {
        guard let history else { return [] }
        var result: [HistorizedTag] = []
        var seen: Set<Int> = []
        for entry in history.tags {
            // Strings have no history (`device/*` passes over them).
            for index in Self.historyMatches(entry.tag, tags) where tags[index].dataType != .string && seen.insert(index).inserted {
                result.append(HistorizedTag(index: index, maxValues: entry.maxValues,
                                            maxAgeNs: entry.maxAgeHours.map { Int64($0) * 3_600_000_000_000 }))
            }
        }
        return result.sorted { $0.index < $1.index }
    }

    /// Indices of the tags an entry names: `device/*`, `device/tag` or a full path.
    static func historyMatches(_ name: String, _ tags: [Tag]) -> [Int] {
        if name.hasSuffix("/*") {
            let device = String(name.dropLast(2))
            return tags.indices.filter { tags[$0].device == device }
        }
        return tags.indices.filter { "\(tags[$0].device)/\(tags[$0].name)" == name || tags[$0].path == name }
    }

    /// Reads `history:`; `tags` are every tag of the configuration (south and KPI).
    static func readHistory(_ root: NodeReader, tags: [Tag]) -> HistoryConfig? {
        guard let reader = root.mapping("history") else { return nil }
        reader.rejectUnknownKeys(["dir", "max_mb", "fsync_interval_ms", "max_read_values", "tags"])
        let maxMB = reader.int("max_mb", range: 1...1_000_000) ?? 256
        var entries: [HistoryTagConfig] = []
        var owner: [Int: (name: String, line: Int?)] = [:]
        var totalBytes = 0
        var valid = true
        for item in reader.sequence("tags", required: true) {
            item.rejectUnknownKeys(["tag", "max_values", "max_age_h"])
            guard let name = item.string("tag", required: true) else { valid = false; continue }
            let maxValues = item.int("max_values", range: 2...100_000_000) ?? 10_000
            let maxAge = item.int("max_age_h", range: 1...876_000)
            let matches = historyMatches(name, tags)
            if matches.isEmpty {
                let device = name.hasSuffix("/*") ? String(name.dropLast(2)) : nil
                let hint = device.map { _ in
                    EditDistance.closest(name, among: Array(Set(tags.map { "\($0.device)/*" }))).map { "; did you mean \"\($0)\"?" } ?? ""
                } ?? (EditDistance.closest(name, among: tags.map { "\($0.device)/\($0.name)" }).map { "; did you mean \"\($0)\"?" }
                      ?? " (name tags as device/tag, or device/* for all tags of a device)")
                item.issue("tag", "no \(device == nil ? "tag" : "device") \"\(device ?? name)\"\(hint)")
                valid = false
                continue
            }
            for index in matches {
                let tag = tags[index]
                if tag.dataType == .string {
                    // `device/*` takes what can be kept and says nothing of its strings.
                    if !name.hasSuffix("/*") {
                        item.issue("tag", "\(name) is a string tag; history is kept for numeric and boolean tags")
                        valid = false
                    }
                    continue
                }
                if let first = owner[index] {
                    item.issue("tag", "\(tag.device)/\(tag.name) already has a history (\(first.name), line \(first.line.map(String.init) ?? "?"))")
                    valid = false
                    continue
                }
                owner[index] = (name, item.line)
                totalBytes += HistoryConfig.fileBytes(values: maxValues)
            }
            entries.append(HistoryTagConfig(tag: name, maxValues: maxValues, maxAgeHours: maxAge))
        }
        if valid && totalBytes > maxMB << 20 {
            reader.issue("max_mb", "the history files take \(Self.mebibytes(totalBytes)) MiB (\(owner.count) tags × their max_values × \(HistoryConfig.recordBytes) bytes), more than max_mb \(maxMB); keep fewer values or raise max_mb")
            valid = false
        }
        let config = HistoryConfig(directory: reader.string("dir") ?? "/var/lib/railgate/history", maxBytes: maxMB << 20,
                                   syncIntervalMs: reader.int("fsync_interval_ms", range: 10...60_000) ?? 1000,
                                   maxReadValues: reader.int("max_read_values", range: 10...1_000_000) ?? 10_000,
                                   tags: entries)
        return valid ? config : nil
    }

    private static func mebibytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + (1 << 20) - 1) >> 20
        return "\(tenths / 10).\(tenths % 10)"
    }
}
