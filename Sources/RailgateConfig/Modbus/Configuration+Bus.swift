import FoundationEssentials
import RailgateCore
import RailgateYAML

extension Configuration {
    static func readBus(_ reader: NodeReader, profiles: [String] = [], board: BoardProfile? = nil) -> BusConfig? {
        reader.rejectUnknownKeys(["name", "protocol", "host", "port", "serial", "response_timeout_ms",
                                  "reconnect_min_ms", "reconnect_max_ms", "devices"])
        let name = checkName(reader, "name")
        let proto = reader.string("protocol", required: true)
        var link: BusConfig.Link?
        switch proto {
        case "modbus-tcp":
            if reader.child("serial") != nil { reader.issue("serial", "a modbus-tcp bus has no serial settings") }
            if let host = reader.string("host", required: true) {
                link = .tcp(host: host, port: reader.int("port", range: 1...65535) ?? 502)
            }
        case "modbus-rtu":
            if reader.child("host") != nil { reader.issue("host", "a modbus-rtu bus has no host (use serial.device)") }
            link = reader.mapping("serial", required: true).flatMap { readSerial($0, board: board) }.map { .rtu($0) }
        case nil:
            break
        case let other?:
            reader.issue("protocol", "unknown protocol \"\(other)\" (expected modbus-tcp, modbus-rtu, profibus-dp or can)")
        }
        let isRTU = proto == "modbus-rtu"
        let timeout = reader.int("response_timeout_ms", range: 10...60_000) ?? 1000
        let reconnectMin = reader.int("reconnect_min_ms", range: 10...3_600_000) ?? 500
        let reconnectMax = reader.int("reconnect_max_ms", range: 10...3_600_000) ?? 30_000
        if reconnectMax < reconnectMin {
            reader.issue("reconnect_max_ms", "must not be below reconnect_min_ms (\(reconnectMin))")
        }
        let deviceReaders = reader.sequence("devices", required: true)
        if deviceReaders.isEmpty, let list = reader.child("devices")?.sequence, list.isEmpty {
            reader.issue("devices", "a bus needs at least one device")
        }
        let devices = deviceReaders.compactMap { readDevice($0, rtu: isRTU, profiles: profiles) }
        var units: [Int: String] = [:]
        for (d, device) in devices.enumerated() {
            if let other = units[device.unit] {
                reader.log.add(path: "\(reader.childPath("devices"))[\(d)].unit", line: deviceReaders[d].child("unit")?.line ?? deviceReaders[d].line,
                               message: "unit \(device.unit) is already used by device \"\(other)\" on this bus")
            }
            units[device.unit] = device.name
        }
        guard let name, let link, devices.count == deviceReaders.count else { return nil }
        return BusConfig(name: name, link: link, timeoutMs: timeout, reconnectMinMs: reconnectMin,
                         reconnectMaxMs: reconnectMax, devices: devices, line: reader.line)
    }

    private static func readSerial(_ reader: NodeReader, board: BoardProfile?) -> SerialConfig? {
        reader.rejectUnknownKeys(["device", "port", "baud", "parity", "data_bits", "stop_bits", "rs485"])
        let (device, rs485) = serialDevice(reader, board: board)
        let baud = reader.int("baud", range: 300...4_000_000) ?? 19200
        var parity: SerialConfig.Parity? = .even
        if let text = reader.string("parity") {
            switch text.lowercased() {
            case "n", "none": parity = SerialConfig.Parity.none
            case "e", "even": parity = .even
            case "o", "odd": parity = .odd
            default:
                reader.issue("parity", "unknown parity \"\(text)\" (expected N, E or O)")
                parity = nil
            }
        }
        let dataBits = reader.int("data_bits", range: 7...8) ?? 8
        let stopBits = reader.int("stop_bits", range: 1...2) ?? 1
        guard let device, let parity else { return nil }
        return SerialConfig(device: device, baud: baud, parity: parity, dataBits: dataBits,
                            stopBits: stopBits, rs485: rs485)
    }

    private static func readDevice(_ reader: NodeReader, rtu: Bool, profiles: [String]) -> DeviceConfig? {
        reader.rejectUnknownKeys(["name", "unit", "poll_ms", "max_gap", "max_registers", "max_bits", "tags", "profile"])
        let name = checkName(reader, "name")
        // Modbus over serial line V1.02 §2.2: individual slave addresses are 1…247.
        let unit = reader.int("unit", range: rtu ? 1...247 : 0...255, required: rtu) ?? (rtu ? nil : 1)
        let poll = reader.int("poll_ms", range: 10...86_400_000) ?? 1000
        let maxGap = reader.int("max_gap", range: 0...2000) ?? 8
        // Modbus Application Protocol V1.1b3 §6.3/§6.1: at most 125 registers, 2000 bits per read.
        let maxRegisters = reader.int("max_registers", range: 1...125) ?? 125
        let maxBits = reader.int("max_bits", range: 1...2000) ?? 2000
        // A device profile's tags first, then the device's own.
        let profile = reader.string("profile").map { readProfile($0, reader: reader, searchPath: profiles) }
        let tagReaders = (profile ?? []) + reader.sequence("tags", required: profile == nil)
        if tagReaders.isEmpty && (profile != nil || reader.child("tags")?.sequence?.isEmpty == true) {
            reader.issue("tags", "a device needs at least one tag")
        }
        let tags = tagReaders.map(readTag)
        checkTags(tags, readers: tagReaders, maxRegisters: maxRegisters)
        guard let name, let unit else { return nil }
        // Kept with the running configuration: sized to the tags, without room to grow.
        var valid: [TagConfig] = []
        valid.reserveCapacity(tags.count)
        for case let tag? in tags { valid.append(tag) }
        guard valid.count == tagReaders.count, !valid.isEmpty else { return nil }
        return DeviceConfig(name: name, unit: unit, pollMs: poll, maxGap: maxGap, maxRegisters: maxRegisters,
                            maxBits: maxBits, tags: valid)
    }

    /// The tag readers of a device profile: a YAML file `NAME.yaml` with a
    /// `tags:` list (and optional `description:`), found in `searchPath`.
    private static func readProfile(_ name: String, reader: NodeReader, searchPath: [String]) -> [NodeReader] {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !name.hasPrefix(".") else {
            reader.issue("profile", "\"\(name)\" is not a profile name (letters, digits, -, _ and .)")
            return []
        }
        guard let file = findYAML(name, kind: "device profile", in: searchPath, reader: reader, key: "profile") else {
            return []
        }
        let node: Node?
        do {
            node = try ConfigText.compose(ConfigText.text(of: file))
        } catch {
            reader.issue("profile", "device profile \(error.line.map { "\(file):\($0)" } ?? file): \(error.message)")
            return []
        }
        guard let node, node.mapping != nil else {
            reader.issue("profile", "device profile \(file) is not a YAML mapping with a tags list")
            return []
        }
        let profile = NodeReader(node: node, path: "\(reader.childPath("profile"))[\(name)]", log: reader.log, file: file)
        profile.rejectUnknownKeys(["description", "tags"])
        return profile.sequence("tags", required: true)
    }

    /// `NAME.yaml` in the first directory of `searchPath` that has it; else an
    /// issue at `key` naming the directories and the names they do have.
    static func findYAML(_ name: String, kind: String, in searchPath: [String], reader: NodeReader, key: String) -> String? {
        if let file = searchPath.map({ "\($0)/\(name).yaml" }).first(where: { FileManager.default.fileExists(atPath: $0) }) {
            return file
        }
        let known = Set(searchPath.flatMap { (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? [] }
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }).sorted()
        reader.issue(key, "no \(kind) \"\(name)\" in \(searchPath.joined(separator: ", "))\(known.isEmpty ? "" : " (found: \(known.joined(separator: ", ")))")")
        return nil
    }

    /// Duplicate names and overlapping addresses within one device.
    private static func checkTags(_ tags: [TagConfig?], readers: [NodeReader], maxRegisters: Int) {
        var names: [String: Int] = [:]
        for (i, reader) in readers.enumerated() {
            // Checked on the raw names, so a tag with other errors still counts.
            guard let name = reader.child("name")?.scalar?.string else { continue }
            if let first = names[name] {
                reader.issue("name", "duplicate tag name \"\(name)\" (first used by \(readers[first].path))")
            } else {
                names[name] = i
            }
        }
        for (i, tag) in tags.enumerated() {
            guard let tag else { continue }
            let reader = readers[i]
            if !tag.table.isBits && tag.count > maxRegisters {
                reader.issue(tag.type == .string ? "length" : "type",
                             "tag spans \(tag.count) registers, more than one read of \(maxRegisters) can return")
            }
        }
        // Overlaps: a sweep over the tags in address order, comparing each only with those whose
        // registers reach it (20 000 tags on one device: milliseconds, not seconds). Reported on
        // the later tag of each pair, in file order.
        var pairs: [(later: Int, earlier: Int)] = []
        let placed = tags.indices.filter { tags[$0] != nil }
        for table in Set(placed.map { tags[$0]!.table }) {
            let sorted = placed.filter { tags[$0]!.table == table }.sorted { (tags[$0]!.address, $0) < (tags[$1]!.address, $1) }
            var reaching: [Int] = []
            for index in sorted {
                let tag = tags[index]!
                reaching.removeAll { tags[$0]!.address + tags[$0]!.count <= tag.address }
                for other in reaching {
                    let earlier = tags[other]!
                    // Several bools may share one register when their bits differ.
                    let distinctBits = tag.bit != nil && earlier.bit != nil && tag.bit != earlier.bit
                        && tag.count == 1 && earlier.count == 1
                    if !distinctBits { pairs.append((max(index, other), min(index, other))) }
                }
                reaching.append(index)
            }
        }
        for (later, earlier) in pairs.sorted(by: { ($0.later, $0.earlier) < ($1.later, $1.earlier) }) {
            let tag = tags[later]!, other = tags[earlier]!
            readers[later].issue(nil, "\(tag.table) \(tag.address)…\(tag.address + tag.count - 1) overlaps tag \"\(other.name)\" at \(other.address)…\(other.address + other.count - 1)")
        }
    }
}
