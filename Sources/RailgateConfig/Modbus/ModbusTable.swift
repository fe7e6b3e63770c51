/// The four Modbus data tables.
public enum ModbusTable: String, Sendable, CaseIterable, CustomStringConvertible {
    case coil = "coil"
    case discreteInput = "discrete-input"
    case inputRegister = "input-register"
    case holdingRegister = "holding-register"

    public var description: String { rawValue }

    /// Coils and discrete inputs hold bits; the others 16-bit registers.
    public var isBits: Bool { self == .coil || self == .discreteInput }

    /// The table a Modicon reference's leading digit names: 0 coil,
    /// 1 discrete input, 3 input register, 4 holding register.
    init?(referenceDigit: Character) {
        switch referenceDigit {
        case "0": self = .coil
        case "1": self = .discreteInput
        case "3": self = .inputRegister
        case "4": self = .holdingRegister
        default: return nil
        }
    }

    /// Parses the common 1-based reference notation into table and 0-based
    /// address: five digits (`40001` … `49999`) or six (`400001` … `465536`).
    /// The leading digit names the table; the rest is the 1-based register number.
    public static func parseReference(_ text: String) -> (table: ModbusTable, address: Int)? {
        guard text.count == 5 || text.count == 6, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
              let first = text.first, let table = ModbusTable(referenceDigit: first),
              let number = Int(text.dropFirst()), number >= 1, number <= 65536 else { return nil }
        return (table, number - 1)
    }
}
