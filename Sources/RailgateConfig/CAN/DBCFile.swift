import RailgateCore
import FoundationEssentials

/// A CAN database (DBC) in the subset real files use: messages (`BO_`),
/// signals (`SG_`: start bit, length, Intel or Motorola byte order,
/// signedness, factor, offset, range, unit, simple multiplexing), value
/// tables (`VAL_`), float signals (`SIG_VALTYPE_`) and message cycle times
/// (`BA_ "GenMsgCycleTime"`). Other sections (`NS_`, `BS_`, `BU_`, `CM_`,
/// attribute definitions, environment variables) are read past.
public struct DBCFile: Sendable, Equatable {
    public struct Signal: Sendable, Equatable {
        public enum Multiplex: Sendable, Equatable {
            case none
            /// The signal that says which multiplexed signals a frame carries.
            case multiplexer
            /// Present when the multiplexer's raw value is this.
            case multiplexed(UInt64)
        }

        public enum ValueType: Sendable, Equatable { case integer, float32, float64 }

        public var name: String
        /// Intel: the least significant bit; Motorola: the most significant
        /// bit, in the DBC's bit numbering (bit 7 of byte 0 is bit 7).
        public var startBit: Int
        public var length: Int
        /// Intel (little endian, `@1`) or Motorola (big endian, `@0`).
        public var littleEndian: Bool
        public var isSigned: Bool
        public var factor: Double
        public var offset: Double
        public var minimum: Double
        public var maximum: Double
        public var unit: String
        public var multiplex: Multiplex
        public var valueType: ValueType
        /// Raw value → text (`VAL_`).
        public var values: [Int64: String]
        public var line: Int
    }

    public struct Message: Sendable, Equatable {
        /// The CAN id without flags (11 or 29 bits).
        public var id: UInt32
        public var extended: Bool
        public var name: String
        /// Bytes (DLC as a length; up to 64 for CAN FD).
        public var length: Int
        public var transmitter: String
        public var signals: [Signal]
        /// `GenMsgCycleTime`, when the file gives one.
        public var cycleTimeMs: Int?
        public var line: Int

        public func signal(named name: String) -> Signal? { signals.first { $0.name == name } }
    }

    public var messages: [Message]

    public func message(named name: String) -> Message? { messages.first { $0.name == name } }
    public func message(id: UInt32, extended: Bool) -> Message? {
        messages.first { $0.id == id && $0.extended == extended }
    }

    /// A problem in a DBC file, with its line.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int?
        public var message: String
        public var description: String { line.map { "line \($0): \(message)" } ?? message }
    }

    public static func load(file: String) throws(ParseError) -> DBCFile {
        let data: [UInt8]
        do {
            data = try ConfigText.bytes(of: file)
        } catch {
            throw ParseError(line: nil, message: error.message)
        }
        // DBC files are often Windows-1252; the parts Railgate uses are ASCII.
        let text = String(decoding: data.map { UInt16($0) }, as: UTF16.self)
        return try parse(text)
    }

    public static func parse(_ text: String) throws(ParseError) -> DBCFile {
        var messages: [Message] = []
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }).enumerated()
            .map { (number: $0.offset + 1, text: String($0.element.trimmed(where: { $0 == " " || $0 == "\t" || $0 == "\r" }))) }[...]
        while let line = lines.popFirst() {
            let text = line.text
            if text.isEmpty || text.hasPrefix("//") { continue }
            var scanner = Tokens(text, line: line.number)
            let keyword = scanner.word()
            switch keyword {
            case "BO_":
                messages.append(try message(&scanner))
            case "SG_":
                guard !messages.isEmpty else { throw ParseError(line: line.number, message: "SG_ before any BO_") }
                let signal = try signal(&scanner)
                let index = messages.count - 1
                if Self.bits(of: signal).contains(where: { $0 >= messages[index].length * 8 }) {
                    throw ParseError(line: line.number, message: "signal \(signal.name) does not fit the \(messages[index].length) bytes of \(messages[index].name)")
                }
                if messages[index].signals.contains(where: { $0.name == signal.name }) {
                    throw ParseError(line: line.number, message: "signal \(signal.name) appears twice in \(messages[index].name)")
                }
                messages[index].signals.append(signal)
            case "VAL_":
                try values(&scanner, &messages)
            case "SIG_VALTYPE_":
                try valueType(&scanner, &messages)
            case "BA_":
                cycleTime(&scanner, &messages)
                try skipStatement(text, line: line.number, rest: &lines)
            case "SG_MUL_VAL_":
                throw ParseError(line: line.number, message: "extended multiplexing (SG_MUL_VAL_) is not supported; only simple multiplexing (M / m<n>)")
            case "CM_", "BA_DEF_", "BA_DEF_DEF_", "BA_DEF_REL_", "BA_REL_", "BA_DEF_DEF_REL_", "VAL_TABLE_", "EV_",
                 "ENVVAR_DATA_", "SGTYPE_", "SIG_GROUP_", "BO_TX_BU_", "SIG_TYPE_REF_", "CAT_DEF_", "CAT_", "FILTER":
                try skipStatement(text, line: line.number, rest: &lines)
            case "NS_":
                // The symbol list: indented names up to the next blank line or keyword.
                while let next = lines.first, !next.text.isEmpty, !next.text.contains(":") || next.text.hasSuffix("_") {
                    _ = lines.popFirst()
                }
            case "VERSION", "BS_:", "BS_", "BU_:", "BU_":
                continue
            default:
                // Indented NS_ entries and unknown sections are read past.
                continue
            }
        }
        return DBCFile(messages: messages)
    }

    // MARK: Statements

    private static func message(_ s: inout Tokens) throws(ParseError) -> Message {
        guard let rawId = UInt32(s.word()) else { throw s.error("BO_ needs a numeric message id") }
        var name = s.word()
        if name.hasSuffix(":") { name.removeLast() } else { try s.expect(":") }
        guard Self.isName(name) else { throw s.error("\"\(name)\" is not a message name") }
        guard let length = Int(s.word()), (0...64).contains(length) else { throw s.error("BO_ \(name) needs a length of 0 to 64 bytes") }
        let extended = rawId & 0x8000_0000 != 0
        let id = rawId & 0x1FFF_FFFF
        guard extended || id <= 0x7FF else { throw s.error("standard id \(id) of \(name) is over 0x7FF") }
        return Message(id: id, extended: extended, name: name, length: length, transmitter: s.word(), signals: [],
                       cycleTimeMs: nil, line: s.line)
    }

    private static func signal(_ s: inout Tokens) throws(ParseError) -> Signal {
        let name = s.word()
        guard Self.isName(name) else { throw s.error("\"\(name)\" is not a signal name") }
        var multiplex = Signal.Multiplex.none
        var next = s.word()
        if next == "M" {
            multiplex = .multiplexer
            next = s.word()
        } else if next.hasPrefix("m") {
            guard let value = UInt64(next.dropFirst().filter { $0 != "M" }) else { throw s.error("bad multiplex indicator \(next)") }
            multiplex = .multiplexed(value)
            next = s.word()
        }
        guard next == ":" else { throw s.error("expected \":\" after signal \(name)") }
        // start|length@order sign
        let layout = s.word()
        let parts = layout.split(whereSeparator: { $0 == "|" || $0 == "@" })
        guard parts.count == 3, let start = Int(parts[0]), let length = Int(parts[1]), length >= 1, length <= 64,
              start >= 0, start < 512, let order = parts[2].first, order == "0" || order == "1",
              let sign = parts[2].dropFirst().first, sign == "+" || sign == "-" else {
            throw s.error("signal \(name): expected start|length@order± (e.g. 24|16@1+), not \(layout)")
        }
        let scale = s.word()
        guard scale.hasPrefix("("), scale.hasSuffix(")") else { throw s.error("signal \(name): expected (factor,offset)") }
        let numbers = scale.dropFirst().dropLast().split(separator: ",")
        guard numbers.count == 2, let factor = Double(numbers[0]), let offset = Double(numbers[1]), factor != 0 else {
            throw s.error("signal \(name): expected (factor,offset) with a factor other than 0, not \(scale)")
        }
        let range = s.word()
        let bounds = range.dropFirst().dropLast().split(separator: "|")
        guard range.hasPrefix("["), range.hasSuffix("]"), bounds.count == 2, let minimum = Double(bounds[0]),
              let maximum = Double(bounds[1]) else {
            throw s.error("signal \(name): expected [min|max], not \(range)")
        }
        guard let unit = s.quoted() else { throw s.error("signal \(name): expected the unit in quotes") }
        return Signal(name: name, startBit: start, length: length, littleEndian: order == "1", isSigned: sign == "-",
                      factor: factor, offset: offset, minimum: minimum, maximum: maximum, unit: unit,
                      multiplex: multiplex, valueType: .integer, values: [:], line: s.line)
    }

    /// `VAL_ <id> <signal> <n> "<text>" … ;`
    private static func values(_ s: inout Tokens, _ messages: inout [Message]) throws(ParseError) {
        guard let raw = UInt32(s.word()) else { return }  // VAL_ of environment variables: no id
        let name = s.word()
        guard let (m, i) = locate(raw, name, messages) else {
            throw s.error("VAL_ names signal \(name) of message \(raw & 0x1FFF_FFFF), which the file does not define")
        }
        var table: [Int64: String] = [:]
        while true {
            let word = s.word()
            if word == ";" || word.isEmpty { break }
            guard let value = Int64(word), let text = s.quoted() else {
                throw s.error("VAL_ \(name): expected value \"text\" pairs, not \(word)")
            }
            table[value] = text
        }
        messages[m].signals[i].values = table
    }

    /// `SIG_VALTYPE_ <id> <signal> : 1;` (1 = IEEE float, 2 = double).
    private static func valueType(_ s: inout Tokens, _ messages: inout [Message]) throws(ParseError) {
        guard let raw = UInt32(s.word()) else { throw s.error("SIG_VALTYPE_ needs a message id") }
        let name = s.word()
        guard let (m, i) = locate(raw, name, messages) else {
            throw s.error("SIG_VALTYPE_ names signal \(name), which the file does not define")
        }
        var word = s.word()
        if word == ":" { word = s.word() }
        switch word.trimmed(where: { $0 == ";" }) {
        case "1":
            guard messages[m].signals[i].length == 32 else { throw s.error("float signal \(name) must be 32 bits long") }
            messages[m].signals[i].valueType = .float32
        case "2":
            guard messages[m].signals[i].length == 64 else { throw s.error("double signal \(name) must be 64 bits long") }
            messages[m].signals[i].valueType = .float64
        case "0": break
        default: throw s.error("SIG_VALTYPE_ \(name): expected 0, 1 or 2")
        }
    }

    /// `BA_ "GenMsgCycleTime" BO_ <id> <ms>;`
    private static func cycleTime(_ s: inout Tokens, _ messages: inout [Message]) {
        guard s.quoted() == "GenMsgCycleTime", s.word() == "BO_", let raw = UInt32(s.word()),
              let ms = Int(s.word().trimmed(where: { $0 == ";" })), ms > 0,
              let index = messages.firstIndex(where: { $0.id == raw & 0x1FFF_FFFF && $0.extended == (raw & 0x8000_0000 != 0) })
        else { return }
        messages[index].cycleTimeMs = ms
    }

    private static func locate(_ raw: UInt32, _ signal: String, _ messages: [Message]) -> (Int, Int)? {
        guard let m = messages.firstIndex(where: { $0.id == raw & 0x1FFF_FFFF && $0.extended == (raw & 0x8000_0000 != 0) }),
              let i = messages[m].signals.firstIndex(where: { $0.name == signal }) else { return nil }
        return (m, i)
    }

    /// Reads past a statement that ends with `;`, which may span lines
    /// (comments with line breaks in their text).
    private static func skipStatement(_ first: String, line: Int,
                                      rest: inout ArraySlice<(number: Int, text: String)>) throws(ParseError) {
        var text = first
        while !Self.statementEnds(text) {
            guard let next = rest.popFirst() else {
                throw ParseError(line: line, message: "statement is not closed with \";\"")
            }
            text += "\n" + next.text
        }
    }

    static func statementEnds(_ text: String) -> Bool {
        var quoted = false
        var escaped = false
        var last: Character = " "
        for character in text {
            if escaped { escaped = false; continue }
            if character == "\\" && quoted { escaped = true; continue }
            if character == "\"" { quoted.toggle() }
            if !quoted && !character.isWhitespace { last = character }
        }
        return !quoted && last == ";"
    }

    static func isName(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    /// The message bit positions (byte × 8 + bit, Intel numbering) a signal covers.
    public static func bits(of signal: Signal) -> [Int] {
        if signal.littleEndian { return Array(signal.startBit..<(signal.startBit + signal.length)) }
        // Motorola: from the most significant bit downwards through the
        // bytes in order ("sawtooth" numbering).
        var bits: [Int] = []
        var position = signal.startBit
        for _ in 0..<signal.length {
            bits.append(position)
            position = position % 8 == 0 ? position + 15 : position - 1
        }
        return bits
    }

    /// Whitespace-separated words of one line, with quoted strings kept whole.
    struct Tokens {
        var rest: Substring
        let line: Int

        init(_ text: String, line: Int) {
            rest = Substring(text)
            self.line = line
        }

        mutating func word() -> String {
            rest = rest.drop(while: { $0.isWhitespace })
            if rest.first == ":" || rest.first == ";" {
                let symbol = String(rest.removeFirst())
                return symbol
            }
            let word = rest.prefix(while: { !$0.isWhitespace && $0 != ";" })
            rest = rest.dropFirst(word.count)
            if word.hasSuffix(":") && word.count > 1 && !word.hasPrefix("[") {
                // "name:" → "name", leaving ":" to be read next.
                rest = ":" + rest
                return String(word.dropLast())
            }
            return String(word)
        }

        mutating func quoted() -> String? {
            rest = rest.drop(while: { $0.isWhitespace })
            guard rest.first == "\"" else { return nil }
            rest = rest.dropFirst()
            guard let end = rest.firstIndex(of: "\"") else { return nil }
            let text = String(rest[..<end])
            rest = rest[rest.index(after: end)...]
            return text
        }

        mutating func expect(_ symbol: String) throws(ParseError) {
            let word = word()
            guard word == symbol else { throw error("expected \"\(symbol)\", not \"\(word)\"") }
        }

        func error(_ message: String) -> ParseError { ParseError(line: line, message: message) }
    }
}
