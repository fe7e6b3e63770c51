import RailgateCore
import FoundationEssentials

/// A PROFIBUS-DP device description (GSD, "Gerätestammdaten") in the text
/// format of the PROFIBUS guideline 2.122: `Key = value` lines, `;` comments,
/// `\` continuations, `Module … EndModule` and `ExtUserPrmData …
/// EndExtUserPrmData` blocks. Railgate reads what a master needs: the ident
/// number, baud rates and their max Tsdr, the modules with their identifier
/// octets, and the user parameter defaults. Other keywords are skipped.
public struct GSDFile: Sendable, Equatable {
    public struct Module: Sendable, Equatable {
        public var name: String
        /// Chk_Cfg identifier octets.
        public var config: [UInt8]
        /// User parameter octets this module adds to Set_Prm.
        public var parameters: [UInt8]
        public var line: Int
    }

    public var vendor: String?
    public var model: String?
    public var identNumber: UInt16
    public var modular: Bool
    public var maxModules: Int
    /// Baud rates marked `…_supp = 1`, in bit/s.
    public var baudRates: Set<Int>
    /// `MaxTsdr_<rate>` in bit times, by baud rate.
    public var maxTsdr: [Int: Int]
    /// Station-wide user parameter octets (defaults), before module parameters.
    public var parameters: [UInt8]
    public var modules: [Module]

    public func module(named name: String) -> Module? {
        modules.first { $0.name == name } ?? modules.first { $0.name.lowercased() == name.lowercased() }
    }

    /// A problem in a GSD file, with its line.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int?
        public var message: String
        public var description: String { line.map { "line \($0): \(message)" } ?? message }
    }

    /// GSD keywords for baud rates and their value in bit/s.
    static let rates: [(String, Int)] = [
        ("9.6", 9_600), ("19.2", 19_200), ("31.25", 31_250), ("45.45", 45_450), ("93.75", 93_750),
        ("187.5", 187_500), ("500", 500_000), ("1.5m", 1_500_000), ("3m", 3_000_000), ("6m", 6_000_000),
        ("12m", 12_000_000),
    ]

    public static func load(file: String) throws(ParseError) -> GSDFile {
        let data: [UInt8]
        do {
            data = try ConfigText.bytes(of: file)
        } catch {
            throw ParseError(line: nil, message: error.message)
        }
        // GSD files are ISO 8859-1 by definition; every byte maps to a character.
        let text = String(decoding: data.map { UInt16($0) }, as: UTF16.self)
        return try parse(text)
    }

    public static func parse(_ text: String) throws(ParseError) -> GSDFile {
        let statements = try logicalLines(text)
        var file = GSDFile(identNumber: 0, modular: false, maxModules: 1, baudRates: [], maxTsdr: [:],
                           parameters: [], modules: [])
        var sawIdent = false
        var sawHeader = false
        var constants: [(offset: Int, bytes: [UInt8], line: Int)] = []
        var references: [(offset: Int, id: Int, line: Int)] = []
        var globalLength = 0
        var defaults: [Int: (bits: ClosedRange<Int>?, width: Int, value: Int)] = [:]
        var module: (name: String, config: [UInt8], line: Int, length: Int,
                     constants: [(Int, [UInt8], Int)], references: [(Int, Int, Int)])?
        var extBlock: (id: Int, line: Int, definition: (bits: ClosedRange<Int>?, width: Int, value: Int)?)?
        var skipBlockEnd: String?

        for (line, statement) in statements {
            let lower = statement.lowercased()
            if let end = skipBlockEnd {
                if lower.hasPrefix(end) { skipBlockEnd = nil }
                continue
            }
            if lower.hasPrefix("#profibus_dp") { sawHeader = true; continue }
            if var block = extBlock {
                if lower.hasPrefix("endextuserprmdata") {
                    guard let definition = block.definition else {
                        throw ParseError(line: block.line, message: "ExtUserPrmData \(block.id) has no data type line")
                    }
                    defaults[block.id] = definition
                    extBlock = nil
                } else if block.definition == nil, let definition = parseDefinition(statement) {
                    block.definition = definition
                    extBlock = block
                }
                continue
            }
            if lower.hasPrefix("endmodule") {
                guard let current = module else { throw ParseError(line: line, message: "EndModule without Module") }
                var parameters = [UInt8](repeating: 0, count: current.length)
                for (offset, bytes, at) in current.constants {
                    try place(bytes, at: offset, in: &parameters, line: at)
                }
                for (offset, id, at) in current.references {
                    guard let definition = defaults[id] else {
                        throw ParseError(line: at, message: "Ext_User_Prm_Data_Ref refers to undefined ExtUserPrmData \(id)")
                    }
                    try apply(definition, at: offset, in: &parameters, line: at)
                }
                file.modules.append(Module(name: current.name, config: current.config, parameters: parameters,
                                           line: current.line))
                module = nil
                continue
            }
            if module != nil, Int(statement.trimmed()) != nil {
                continue  // module reference number (GSD revision 3)
            }
            guard let equals = statement.firstIndex(of: "=") else {
                if lower.hasPrefix("prmtext") || lower.hasPrefix("unitdiagtype") || lower.hasPrefix("unitdiagarea") {
                    skipBlockEnd = lower.hasPrefix("prmtext") ? "endprmtext" : (lower.hasPrefix("unitdiagtype") ? "endunitdiagtype" : "endunitdiagarea")
                    continue
                }
                if lower.hasPrefix("end") { continue }
                throw ParseError(line: line, message: "expected \"keyword = value\", found \"\(statement)\"")
            }
            let key = statement[..<equals].trimmed()
            let value = statement[statement.index(after: equals)...].trimmed()
            let lowerKey = key.lowercased()
            if lowerKey == "prmtext" || lowerKey == "unitdiagtype" || lowerKey == "unitdiagarea"
                || lowerKey == "slotdefinition" || lowerKey == "unitdiagbit" {
                if lowerKey == "prmtext" { skipBlockEnd = "endprmtext" }
                if lowerKey == "unitdiagtype" { skipBlockEnd = "endunitdiagtype" }
                if lowerKey == "unitdiagarea" { skipBlockEnd = "endunitdiagarea" }
                if lowerKey == "slotdefinition" { skipBlockEnd = "endslotdefinition" }
                continue
            }
            if lowerKey == "module" {
                guard module == nil else { throw ParseError(line: line, message: "Module inside Module (EndModule missing?)") }
                guard value.hasPrefix("\""), let close = value.dropFirst().firstIndex(of: "\"") else {
                    throw ParseError(line: line, message: "Module needs a quoted name, then its identifier octets")
                }
                let name = String(value[value.index(after: value.startIndex)..<close])
                let bytes = try numbers(String(value[value.index(after: close)...]), line: line)
                guard !bytes.isEmpty else {
                    throw ParseError(line: line, message: "Module \"\(name)\" has no identifier octets")
                }
                guard bytes.allSatisfy({ (0...255).contains($0) }) else {
                    throw ParseError(line: line, message: "Module \"\(name)\": identifier octets must be 0…255")
                }
                module = (name, bytes.map { UInt8($0) }, line, 0, [], [])
                continue
            }
            if lowerKey == "extuserprmdata" {
                let parts = value.split(separator: " ", maxSplits: 1)
                guard let first = parts.first, let id = number(String(first)) else {
                    throw ParseError(line: line, message: "ExtUserPrmData needs a reference number")
                }
                extBlock = (id, line, nil)
                continue
            }
            if let (name, argument) = indexedKey(lowerKey) {
                if name == "ext_user_prm_data_const" || name == "ext_user_prm_data_ref" {
                    guard (0..<maxUserParameters).contains(argument) else {
                        throw ParseError(line: line, message: "\(key): offset \(argument) is past the \(maxUserParameters) octets of user parameters Set_Prm can carry")
                    }
                }
                switch name {
                case "ext_user_prm_data_const":
                    let bytes = try numbers(value, line: line).map { v throws(ParseError) -> UInt8 in
                        guard (0...255).contains(v) else { throw ParseError(line: line, message: "\(v) is not an octet") }
                        return UInt8(v)
                    }
                    if module != nil { module!.constants.append((argument, bytes, line)) } else { constants.append((argument, bytes, line)) }
                case "ext_user_prm_data_ref":
                    guard let id = number(value) else { throw ParseError(line: line, message: "expected a reference number, found \"\(value)\"") }
                    if module != nil { module!.references.append((argument, id, line)) } else { references.append((argument, id, line)) }
                default:
                    break
                }
                continue
            }
            func int() throws(ParseError) -> Int {
                guard let parsed = number(value) else {
                    throw ParseError(line: line, message: "\(key): expected a number, found \"\(value)\"")
                }
                return parsed
            }
            /// A length of user parameters: Set_Prm carries at most 237 octets of them.
            func prmLength() throws(ParseError) -> Int {
                let length = try int()
                guard (0...maxUserParameters).contains(length) else {
                    throw ParseError(line: line, message: "\(key) = \(length): user parameters are 0…\(maxUserParameters) octets (Set_Prm carries 244, 7 of them standard)")
                }
                return length
            }
            switch lowerKey {
            case "ident_number":
                let ident = try int()
                guard (0...0xFFFF).contains(ident) else { throw ParseError(line: line, message: "Ident_Number must be 0…0xFFFF") }
                file.identNumber = UInt16(ident)
                sawIdent = true
            case "vendor_name": file.vendor = unquote(value)
            case "model_name": file.model = unquote(value)
            case "modular_station": file.modular = try int() != 0
            case "max_module": file.maxModules = try int()
            case "ext_module_prm_data_len":
                if module != nil { module!.length = try prmLength() }
            case "user_prm_data_len", "max_user_prm_data_len", "ext_user_prm_data_len":
                if module == nil && lowerKey != "max_user_prm_data_len" { globalLength = max(globalLength, try prmLength()) }
            case "user_prm_data":
                let bytes = try numbers(value, line: line)
                constants.append((0, bytes.map { UInt8(truncatingIfNeeded: $0) }, line))
            default:
                if lowerKey.hasSuffix("_supp"), let rate = rates.first(where: { $0.0 + "_supp" == lowerKey }) {
                    if try int() != 0 { file.baudRates.insert(rate.1) }
                } else if lowerKey.hasPrefix("maxtsdr_"), let rate = rates.first(where: { "maxtsdr_" + $0.0 == lowerKey }) {
                    file.maxTsdr[rate.1] = try int()
                }
            }
        }
        if module != nil { throw ParseError(line: module!.line, message: "Module \"\(module!.name)\" has no EndModule") }
        if let block = extBlock { throw ParseError(line: block.line, message: "ExtUserPrmData has no EndExtUserPrmData") }
        guard sawHeader else { throw ParseError(line: 1, message: "not a GSD file: the #Profibus_DP line is missing") }
        guard sawIdent else { throw ParseError(line: nil, message: "Ident_Number is missing") }
        let extent = (constants.map { $0.offset + $0.bytes.count }
            + references.compactMap { ref in defaults[ref.id].map { ref.offset + $0.width } }).max() ?? 0
        var parameters = [UInt8](repeating: 0, count: max(globalLength, extent))
        for constant in constants { try place(constant.bytes, at: constant.offset, in: &parameters, line: constant.line) }
        for reference in references {
            guard let definition = defaults[reference.id] else {
                throw ParseError(line: reference.line, message: "Ext_User_Prm_Data_Ref refers to undefined ExtUserPrmData \(reference.id)")
            }
            try apply(definition, at: reference.offset, in: &parameters, line: reference.line)
        }
        file.parameters = parameters
        return file
    }

    /// Joins `\` continuations, drops comments, keeps the first line number.
    private static func logicalLines(_ text: String) throws(ParseError) -> [(Int, String)] {
        var result: [(Int, String)] = []
        var pending = ""
        var start = 0
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            if let semicolon = commentStart(line) { line = String(line[..<semicolon]) }
            line = line.trimmed()
            if pending.isEmpty { start = index + 1 }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            let full = (pending + line).trimmed()
            pending = ""
            if !full.isEmpty { result.append((start, full)) }
        }
        if !pending.isEmpty { throw ParseError(line: start, message: "the file ends inside a \\ continuation") }
        return result
    }

    /// The first `;` outside quotes.
    private static func commentStart(_ line: String) -> String.Index? {
        var quoted = false
        for index in line.indices {
            if line[index] == "\"" { quoted.toggle() }
            if line[index] == ";" && !quoted { return index }
        }
        return nil
    }

    static func number(_ text: String) -> Int? {
        let trimmed = text.trimmed()
        if trimmed.lowercased().hasPrefix("0x") { return Int(trimmed.dropFirst(2), radix: 16) }
        return Int(trimmed)
    }

    private static func numbers(_ text: String, line: Int) throws(ParseError) -> [Int] {
        var result: [Int] = []
        for part in text.split(separator: ",") {
            let item = part.trimmed()
            if item.isEmpty { continue }
            guard let value = number(item) else { throw ParseError(line: line, message: "\"\(item)\" is not a number") }
            result.append(value)
        }
        return result
    }

    private static func unquote(_ text: String) -> String {
        text.trimmed(where: { $0 == "\"" || $0 == " " })
    }

    /// `Ext_User_Prm_Data_Const(3)` → ("ext_user_prm_data_const", 3).
    private static func indexedKey(_ key: String) -> (String, Int)? {
        guard let open = key.firstIndex(of: "("), key.hasSuffix(")") else { return nil }
        let name = key[..<open].trimmed()
        guard let argument = number(String(key[key.index(after: open)..<key.index(before: key.endIndex)])) else { return nil }
        return (name, argument)
    }

    /// `Unsigned8 1 0-255`, `Bit(3) 0 0-1`, `BitArea(4-6) 2 0-7` → position and default.
    private static func parseDefinition(_ statement: String) -> (bits: ClosedRange<Int>?, width: Int, value: Int)? {
        let parts = statement.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2, let value = number(String(parts[1])) else { return nil }
        let type = parts[0].lowercased()
        switch type {
        case "unsigned8", "signed8": return (nil, 1, value)
        case "unsigned16", "signed16": return (nil, 2, value)
        case "unsigned32", "signed32": return (nil, 4, value)
        default:
            guard let open = type.firstIndex(of: "("), type.hasSuffix(")") else { return nil }
            let inside = type[type.index(after: open)..<type.index(before: type.endIndex)]
            let bounds = inside.split(separator: "-").compactMap { Int($0) }
            if type.hasPrefix("bitarea("), bounds.count == 2, bounds[0] <= bounds[1], bounds[1] < 8 {
                return (bounds[0]...bounds[1], 1, value)
            }
            if type.hasPrefix("bit("), bounds.count == 1, bounds[0] < 8 { return (bounds[0]...bounds[0], 1, value) }
            return nil
        }
    }

    /// The user parameters Set_Prm can carry: 244 octets of data, 7 of them standard.
    public static let maxUserParameters = 237

    private static func place(_ bytes: [UInt8], at offset: Int, in parameters: inout [UInt8], line: Int) throws(ParseError) {
        guard offset >= 0, offset <= maxUserParameters - bytes.count else {
            throw ParseError(line: line, message: "user parameters at \(offset) pass the \(maxUserParameters) octets Set_Prm can carry")
        }
        if parameters.count < offset + bytes.count { parameters += Array(repeating: 0, count: offset + bytes.count - parameters.count) }
        for (index, byte) in bytes.enumerated() { parameters[offset + index] = byte }
    }

    private static func apply(_ definition: (bits: ClosedRange<Int>?, width: Int, value: Int), at offset: Int,
                              in parameters: inout [UInt8], line: Int) throws(ParseError) {
        if let bits = definition.bits {
            // Room for the octet, its other bits kept.
            guard offset >= 0, offset < maxUserParameters else {
                throw ParseError(line: line, message: "user parameters at \(offset) pass the \(maxUserParameters) octets Set_Prm can carry")
            }
            try place([], at: offset + 1, in: &parameters, line: line)
            let mask = UInt8(truncatingIfNeeded: ((1 << (bits.count)) - 1) << bits.lowerBound)
            let field = UInt8(truncatingIfNeeded: definition.value << bits.lowerBound) & mask
            parameters[offset] = (parameters[offset] & ~mask) | field
        } else {
            var bytes: [UInt8] = []
            for index in 0..<definition.width {
                bytes.append(UInt8(truncatingIfNeeded: definition.value >> (8 * (definition.width - 1 - index))))
            }
            try place(bytes, at: offset, in: &parameters, line: line)
        }
    }
}
