import RailgateCore

extension Configuration {
    /// Most entries one map may hold.
    static let maxMapEntries = 65_536
    /// Longest code, in bytes.
    static let maxCodeBytes = 256

    /// The `maps:` section: named code translation tables, each a mapping of raw integer values
    /// to the codes the MES uses,
    ///
    ///     maps:
    ///       material:
    ///         1001: MAT-4711-A
    ///         1002: MAT-4711-B
    ///
    /// referred to by tags (`map: material`). Problems are logged with path and line.
    static func readMaps(_ root: NodeReader) -> [String: CodeMap] {
        guard let section = root.mapping("maps") else { return [:] }
        var maps: [String: CodeMap] = [:]
        for (key, value) in section.node.mapping ?? [:] {
            guard let name = key.string else { continue }
            let path = section.childPath(name)
            let line = key.line ?? value.line
            guard isName(name) else {
                section.issue(path: path, line: line, "map name \"\(name)\" may contain only letters, digits, _, - and .")
                continue
            }
            guard let entries = value.mapping else {
                section.issue(path: path, line: line, "expected a mapping of raw values to codes (1001: MAT-4711-A)")
                continue
            }
            guard !entries.isEmpty else {
                section.issue(path: path, line: line, "a map needs at least one entry")
                continue
            }
            guard entries.count <= maxMapEntries else {
                section.issue(path: path, line: line, "\(entries.count) entries; a map holds at most \(maxMapEntries)")
                continue
            }
            var valid = true
            var list: [(value: Int64, code: String)] = []
            var lines: [Int64: Int?] = [:]
            for (rawKey, codeNode) in entries {
                let text = rawKey.string ?? ""
                let entryPath = "\(path).\(text)"
                let entryLine = rawKey.line ?? codeNode.line
                func reject(_ message: String) {
                    section.issue(path: entryPath, line: entryLine, message)
                    valid = false
                }
                guard let raw = Int64(text) else {
                    reject("\"\(text)\" is not an integer: a map's keys are the raw values a device reports")
                    continue
                }
                guard let code = codeNode.scalar?.string, !code.isEmpty else {
                    reject("expected the code for \(raw), a non-empty text")
                    continue
                }
                guard code.utf8.count <= maxCodeBytes else {
                    reject("the code is \(code.utf8.count) bytes long; at most \(maxCodeBytes)")
                    continue
                }
                if let first = lines[raw] {
                    reject("\(raw) is mapped twice (first at line \(first.map(String.init) ?? "?"))")
                    continue
                }
                lines[raw] = entryLine
                list.append((raw, code))
            }
            if valid { maps[name] = CodeMap(name: name, entries: list) }
        }
        // Tags read after this see the maps; one naming a map with problems gets no second message.
        root.log.codeMaps = maps
        root.log.unreadableMaps = Set((section.node.mapping ?? [:]).compactMap { $0.key.string }).subtracting(maps.keys)
        return maps
    }

    /// The map a tag's `map:` names, checked against the tag: integer tags only, without
    /// scaling, unit conversion or deadband (a code is published on every change).
    static func readTagMap(_ reader: NodeReader, type: DataType, scaled: Bool) -> (map: CodeMap?, valid: Bool) {
        guard let name = reader.string("map") else { return (nil, true) }
        var valid = true
        func reject(_ key: String, _ message: String) {
            reader.issue(key, message)
            valid = false
        }
        if type.rawKind != .int && type.rawKind != .uint {
            reject("map", "a map translates integer codes; a \(type) tag cannot have one")
        }
        if scaled { reject("map", "a mapped tag is published raw: remove scale, offset and publish_unit") }
        for key in ["deadband", "deadband_percent"] where reader.child(key) != nil {
            reject(key, "a mapped tag publishes every change of code: remove \(key)")
        }
        let known = reader.log.codeMaps
        guard let map = known[name] else {
            if reader.log.unreadableMaps.contains(name) { return (nil, false) }
            let names = known.keys.sorted()
            let hint = EditDistance.closest(name, among: names).map { "; did you mean \"\($0)\"?" }
                ?? (names.isEmpty ? "; no maps are defined (maps: at the top of the file)"
                                  : " (maps: \(names.prefix(10).joined(separator: ", ")))")
            reject("map", "unknown map \"\(name)\"\(hint)")
            return (nil, false)
        }
        return (valid ? map : nil, valid)
    }
}
