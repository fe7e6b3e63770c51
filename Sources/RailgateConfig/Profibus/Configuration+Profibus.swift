import FoundationEssentials
import RailgateCore

/// One PROFIBUS-DP line: an RS-485 port with Railgate as the only (class 1) master.
public struct ProfibusLineConfig: Sendable, Equatable {
    public var name: String
    /// Port and baud rate; PROFIBUS is always 8 data bits, even parity, 1 stop bit.
    public var serial: SerialConfig
    public var masterAddress: Int
    /// Bus parameters in bit times (TSL, min TSDR) and request retries.
    public var slotTimeBits: Int
    public var minTsdrBits: Int
    public var retries: Int
    /// Longest wait for an answer: the slot time, but never less than this
    /// (USB adapters and pseudo-terminals add milliseconds of latency).
    public var responseTimeoutMs: Int
    /// Shortest time between the starts of two DP cycles.
    public var cycleMs: Int
    /// Freeze every slave's inputs before each cycle (Global_Control FREEZE).
    public var freeze: Bool
    /// Hold outputs until the cycle's last Data_Exchange, then set them all
    /// at once (Global_Control SYNC).
    public var sync: Bool
    public var reconnectMinMs: Int
    public var reconnectMaxMs: Int
    public var slaves: [ProfibusSlaveConfig]
    public var line: Int?

    /// Default slot time (TSL, bit times) per baud rate, EN 50170 DP defaults.
    public static func defaultSlotTime(baud: Int) -> Int {
        switch baud {
        case ..<500_000: 100
        case ..<1_500_000: 200
        case ..<3_000_000: 300
        case ..<6_000_000: 400
        case ..<12_000_000: 600
        default: 1000
        }
    }

    /// The standard PROFIBUS baud rates.
    public static let baudRates = [9_600, 19_200, 45_450, 93_750, 187_500, 500_000, 1_500_000, 3_000_000,
                                   6_000_000, 12_000_000]
}

extension ProfibusLineConfig: FileLocated {}

/// One DP slave: its GSD, the modules plugged in, and tags over its process image.
public struct ProfibusSlaveConfig: Sendable, Equatable {
    public var name: String
    public var address: Int
    public var gsdFile: String
    public var identNumber: UInt16
    public var modules: [String]
    /// Chk_Cfg identifier octets of the modules, in order.
    public var configBytes: [UInt8]
    /// Set_Prm user parameter octets (GSD defaults, or `user_prm` from the configuration).
    public var userParameters: [UInt8]
    /// Process image sizes the modules describe.
    public var inputBytes: Int
    public var outputBytes: Int
    /// Response-monitoring time the slave enforces; nil switches its watchdog off.
    public var watchdogMs: Int?
    public var group: UInt8
    public var tags: [ProfibusTagConfig]
}

/// A tag over a slave's inputs (slave → master) or outputs (master → slave).
public struct ProfibusTagConfig: Sendable, Equatable {
    public enum Area: String, Sendable, Equatable { case input, output }
    public var name: String
    public var area: Area
    /// First octet in the area's process image.
    public var byte: Int
    /// Bit of that octet (0 = least significant) for a `bool`.
    public var bit: Int
    public var type: DataType
    public var order: ByteOrder
    public var length: Int
    public var value: TagValueConfig
    public var writable: Bool

    /// Octets the tag spans.
    public var byteCount: Int { type.byteCount(stringLength: length) }
}

extension Configuration {
    static func readProfibusLine(_ reader: NodeReader, baseDirectory: String, board: BoardProfile? = nil) -> ProfibusLineConfig? {
        reader.rejectUnknownKeys(["name", "protocol", "serial", "master_address", "slot_time_bits", "min_tsdr_bits",
                                  "retries", "response_timeout_ms", "cycle_ms", "freeze", "sync", "reconnect_min_ms",
                                  "reconnect_max_ms", "slaves"])
        let name = checkName(reader, "name")
        var serial: SerialConfig?
        if let section = reader.mapping("serial", required: true) {
            section.rejectUnknownKeys(["device", "port", "baud", "rs485"])
            let (device, rs485) = serialDevice(section, board: board)
            let baud = section.int("baud", range: 9_600...12_000_000) ?? 187_500
            if !ProfibusLineConfig.baudRates.contains(baud) {
                section.issue("baud", "\(baud) is not a PROFIBUS baud rate (expected one of: \(ProfibusLineConfig.baudRates.map(String.init).joined(separator: ", ")))")
            }
            if let device {
                serial = SerialConfig(device: device, baud: baud, parity: .even, dataBits: 8, stopBits: 1,
                                      rs485: rs485)
            }
        }
        let master = reader.int("master_address", range: 0...125) ?? 1
        let baud = serial?.baud ?? 187_500
        let slot = reader.int("slot_time_bits", range: 37...16_383) ?? ProfibusLineConfig.defaultSlotTime(baud: baud)
        let minTsdr = reader.int("min_tsdr_bits", range: 11...255) ?? 11
        let retries = reader.int("retries", range: 0...7) ?? 1
        let timeout = reader.int("response_timeout_ms", range: 1...10_000) ?? 50
        let cycle = reader.int("cycle_ms", range: 1...60_000) ?? 10
        let freeze = reader.bool("freeze") ?? false
        let sync = reader.bool("sync") ?? false
        let reconnectMin = reader.int("reconnect_min_ms", range: 10...3_600_000) ?? 500
        let reconnectMax = reader.int("reconnect_max_ms", range: 10...3_600_000) ?? 30_000
        let slaveReaders = reader.sequence("slaves", required: true)
        if slaveReaders.isEmpty, let list = reader.child("slaves")?.sequence, list.isEmpty {
            reader.issue("slaves", "a PROFIBUS line needs at least one slave")
        }
        let slaves = slaveReaders.map { readProfibusSlave($0, baseDirectory: baseDirectory, baud: baud, slotTime: slot) }
        var addresses: [Int: String] = [:]
        for (index, slave) in slaves.enumerated() {
            guard let slave else { continue }
            if slave.address == master {
                slaveReaders[index].issue("address", "\(slave.address) is the master's own address")
            }
            if let other = addresses[slave.address] {
                slaveReaders[index].issue("address", "address \(slave.address) is already used by slave \"\(other)\" on this line")
            }
            addresses[slave.address] = slave.name
        }
        guard let name, let serial, slaves.allSatisfy({ $0 != nil }), !slaves.isEmpty else { return nil }
        return ProfibusLineConfig(name: name, serial: serial, masterAddress: master, slotTimeBits: slot,
                                  minTsdrBits: minTsdr, retries: retries, responseTimeoutMs: timeout, cycleMs: cycle,
                                  freeze: freeze, sync: sync, reconnectMinMs: reconnectMin, reconnectMaxMs: reconnectMax,
                                  slaves: slaves.compactMap { $0 }, line: reader.line)
    }

    private static func readProfibusSlave(_ reader: NodeReader, baseDirectory: String, baud: Int,
                                          slotTime: Int) -> ProfibusSlaveConfig? {
        reader.rejectUnknownKeys(["name", "address", "gsd", "modules", "watchdog_ms", "group", "user_prm", "tags"])
        let name = checkName(reader, "name")
        let address = reader.int("address", range: 0...125, required: true)
        let watchdog = reader.int("watchdog_ms", range: 0...650_250) ?? 1000
        let group = reader.int("group", range: 0...255) ?? 0
        var moduleNames: [(String, Int?)] = []
        if let node = reader.child("modules") {
            if let items = node.sequence {
                moduleNames = items.compactMap { item in item.scalar.map { ($0.string, item.line) } }
                if moduleNames.count != items.count { reader.issue("modules", "expected a list of module names") }
            } else {
                reader.issue("modules", "expected a list of module names from the GSD file")
            }
        }
        var userPrm: [UInt8]?
        if let text = reader.string("user_prm") {
            let octets = text.split(whereSeparator: { $0 == " " || $0 == "," }).map { UInt8($0.hasPrefix("0x") ? String($0.dropFirst(2)) : String($0), radix: 16) }
            if octets.contains(nil) || octets.count > 237 {
                reader.issue("user_prm", "expected up to 237 hex octets such as \"00 0A FF\"")
            } else {
                userPrm = octets.compactMap { $0 }
            }
        }

        // The GSD file: ident number, modules, parameters.
        var gsd: GSDFile?
        let gsdName = reader.string("gsd", required: true)
        var path = ""
        if let gsdName {
            path = Path.join(baseDirectory, gsdName)
            do {
                gsd = try GSDFile.load(file: path)
            } catch {
                let place = error.line.map { "\(path):\($0)" } ?? path
                reader.issue("gsd", "slave \(name ?? "?"): GSD \(place): \(error.message)")
            }
        }
        var config: [UInt8] = []
        var parameters: [UInt8] = []
        if let gsd {
            if !gsd.baudRates.isEmpty && !gsd.baudRates.contains(baud) {
                reader.issue("gsd", "slave \(name ?? "?"): \(path) does not list \(baud) bit/s among its baud rates")
            }
            if let maxTsdr = gsd.maxTsdr[baud], maxTsdr > slotTime {
                reader.issue("gsd", "slave \(name ?? "?"): its MaxTsdr at \(baud) bit/s is \(maxTsdr) bit times, longer than the slot time \(slotTime)")
            }
            if moduleNames.isEmpty {
                if gsd.modular || gsd.modules.count != 1 {
                    let names = gsd.modules.map { "\"\($0.name)\"" }.joined(separator: ", ")
                    reader.issue(nil, "slave \(name ?? "?"): modules: list the modules plugged in (from \(path): \(names))")
                } else {
                    moduleNames = [(gsd.modules[0].name, reader.line)]
                }
            }
            if moduleNames.count > gsd.maxModules && gsd.modular {
                reader.issue("modules", "slave \(name ?? "?"): \(moduleNames.count) modules, but \(path) allows at most \(gsd.maxModules)")
            }
            parameters = gsd.parameters
            for (index, (moduleName, line)) in moduleNames.enumerated() {
                guard let module = gsd.module(named: moduleName) else {
                    let names = gsd.modules.map { "\"\($0.name)\"" }.joined(separator: ", ")
                    reader.log.add(path: "\(reader.childPath("modules"))[\(index)]", line: line ?? reader.line,
                                   message: "slave \(name ?? "?"): \(path) has no module \"\(moduleName)\" (it has: \(names))")
                    continue
                }
                config += module.config
                parameters += module.parameters
            }
        }
        if let userPrm { parameters = userPrm }
        if parameters.count > GSDFile.maxUserParameters {
            reader.issue("modules", "slave \(name ?? "?"): the GSD's and the modules' user parameters are \(parameters.count) octets; Set_Prm carries at most \(GSDFile.maxUserParameters) (244 with its 7 standard octets)")
        }
        if config.count > 244 {
            reader.issue("modules", "slave \(name ?? "?"): the modules' identifier octets are \(config.count); Chk_Cfg carries at most 244")
        }
        // Without a readable GSD the image sizes are unknown: tags are not checked against them.
        let sizes = gsd == nil ? nil : DPConfigSizes.of(config)
        if !config.isEmpty && sizes == nil {
            reader.issue("modules", "slave \(name ?? "?"): the modules' identifier octets \(config) are malformed")
        }
        if let sizes, sizes.inputs > 244 || sizes.outputs > 244 {
            reader.issue("modules", "slave \(name ?? "?"): \(sizes.inputs) input and \(sizes.outputs) output octets; DP carries at most 244 each")
        }

        let tagReaders = reader.sequence("tags", required: true)
        if tagReaders.isEmpty, let list = reader.child("tags")?.sequence, list.isEmpty {
            reader.issue("tags", "a slave needs at least one tag")
        }
        let tags = tagReaders.map { readProfibusTag($0, sizes: sizes) }
        checkProfibusTags(tags, readers: tagReaders)
        guard let name, let address, let gsd, let sizes, tags.allSatisfy({ $0 != nil }), !tags.isEmpty else { return nil }
        return ProfibusSlaveConfig(name: name, address: address, gsdFile: path, identNumber: gsd.identNumber,
                                   modules: moduleNames.map(\.0), configBytes: config, userParameters: parameters,
                                   inputBytes: sizes.inputs, outputBytes: sizes.outputs,
                                   watchdogMs: watchdog == 0 ? nil : watchdog, group: UInt8(group),
                                   tags: tags.compactMap { $0 })
    }

    private static func readProfibusTag(_ reader: NodeReader, sizes: DPConfigSizes?) -> ProfibusTagConfig? {
        reader.rejectUnknownKeys(["name", "area", "byte", "bit", "type", "order", "scale", "offset", "unit", "publish_unit",
                                  "deadband", "deadband_percent", "range", "writable", "map"])
        let name = checkName(reader, "name")
        var area: ProfibusTagConfig.Area?
        if let text = reader.string("area", required: true) {
            area = ProfibusTagConfig.Area(rawValue: text)
            if area == nil { reader.issue("area", "unknown area \"\(text)\" (expected input or output)") }
        }
        let byte = reader.int("byte", range: 0...243, required: true)
        let bit = reader.int("bit", range: 0...7)
        let (type, order) = readType(reader, default: bit != nil ? .bool : .uint8)
        let writable = reader.bool("writable") ?? false
        guard let type else { return nil }
        let value = readValueSettings(reader, type: type)
        var valid = value != nil
        func reject(_ key: String?, _ message: String) {
            reader.issue(key, message)
            valid = false
        }
        if type == .string { reject("type", "strings are not supported in PROFIBUS process images") }
        if type == .bool && bit == nil { reject(nil, "a bool needs bit: 0…7 of its octet") }
        if type != .bool && bit != nil { reject("bit", "bit applies to bool tags only") }
        if writable && area == .input { reject("writable", "inputs come from the slave; only output tags are writable") }
        if let area, let byte, let sizes {
            let size = area == .input ? sizes.inputs : sizes.outputs
            let end = byte + type.byteCount(stringLength: 0)
            if end > size {
                reject("byte", "\(type) at octet \(byte) ends at \(end - 1), past the \(size) \(area) octets the modules provide")
            }
        }
        guard valid, let name, let area, let byte, let value else { return nil }
        return ProfibusTagConfig(name: name, area: area, byte: byte, bit: bit ?? 0, type: type, order: order,
                                 length: 0, value: value, writable: writable)
    }

    private static func checkProfibusTags(_ tags: [ProfibusTagConfig?], readers: [NodeReader]) {
        var names: Set<String> = []
        for (index, reader) in readers.enumerated() {
            if let name = reader.child("name")?.scalar?.string, !names.insert(name).inserted {
                reader.issue("name", "duplicate tag name \"\(name)\"")
            }
            guard let tag = tags[index] else { continue }
            for other in tags[..<index].compactMap({ $0 }) where other.area == tag.area {
                let overlaps = tag.byte < other.byte + other.byteCount && other.byte < tag.byte + tag.byteCount
                let distinctBits = tag.type == .bool && other.type == .bool && tag.bit != other.bit
                // Views may overlap (a status byte and its bits); two writable tags may not.
                if overlaps && !distinctBits && tag.writable && other.writable {
                    reader.issue(nil, "\(tag.area) octets \(tag.byte)…\(tag.byte + tag.byteCount - 1) overlap tag \"\(other.name)\"; two writable tags cannot share octets")
                }
            }
        }
    }
}

/// Process image sizes from Chk_Cfg identifier octets (EN 50170 §8.3.3).
public struct DPConfigSizes: Sendable, Equatable {
    public var inputs: Int
    public var outputs: Int

    /// Nil when the octets are malformed (a special identifier without its length octets).
    public static func of(_ identifiers: [UInt8]) -> DPConfigSizes? {
        var sizes = DPConfigSizes(inputs: 0, outputs: 0)
        var index = 0
        func length(_ octet: UInt8) -> Int { (Int(octet & 0x3F) + 1) * (octet & 0x40 != 0 ? 2 : 1) }
        while index < identifiers.count {
            let id = identifiers[index]
            index += 1
            let direction = (id >> 4) & 0x03
            if direction != 0 {
                // General identifier: bits 0-3 length-1, bit 6 words, bits 4-5 input/output.
                let count = (Int(id & 0x0F) + 1) * (id & 0x40 != 0 ? 2 : 1)
                if direction & 0x01 != 0 { sizes.inputs += count }
                if direction & 0x02 != 0 { sizes.outputs += count }
                continue
            }
            // Special identifier: bits 6-7 say which length octets follow
            // (01 input, 10 output, 11 output then input); bits 0-3 count vendor octets after them.
            let kind = id >> 6
            if kind & 0x02 != 0 {
                guard index < identifiers.count else { return nil }
                sizes.outputs += length(identifiers[index])
                index += 1
            }
            if kind & 0x01 != 0 {
                guard index < identifiers.count else { return nil }
                sizes.inputs += length(identifiers[index])
                index += 1
            }
            index += Int(id & 0x0F)
            guard index <= identifiers.count else { return nil }
        }
        return sizes
    }
}
