/// The wire types a tag can have. The register count follows from the type
/// (and, for strings, the configured length).
public enum DataType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case bool, int8, uint8, int16, uint16, int32, uint32, int64, uint64, float32, float64, string

    /// The configuration spelling, e.g. `float32`.
    public var description: String {
        switch self {
        case .bool: "bool"
        case .int8: "int8"
        case .uint8: "uint8"
        case .int16: "int16"
        case .uint16: "uint16"
        case .int32: "int32"
        case .uint32: "uint32"
        case .int64: "int64"
        case .uint64: "uint64"
        case .float32: "float32"
        case .float64: "float64"
        case .string: "string"
        }
    }

    public init?(name: String) {
        guard let match = DataType.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }

    /// 16-bit registers occupied; `stringLength` is the string's register count.
    /// A `bool` in a register table takes one register (one of its bits).
    public func registerCount(stringLength: Int) -> Int {
        switch self {
        case .bool, .int8, .uint8, .int16, .uint16: 1
        case .int32, .uint32, .float32: 2
        case .int64, .uint64, .float64: 4
        case .string: stringLength
        }
    }

    /// Octets a value takes in a byte-addressed process image (PROFIBUS);
    /// a `bool` is one bit of one octet.
    public func byteCount(stringLength: Int) -> Int {
        switch self {
        case .bool, .int8, .uint8: 1
        case .string: stringLength
        default: registerCount(stringLength: 0) * 2
        }
    }

    /// The kind of value this type decodes to before scaling.
    public var rawKind: ValueKind {
        switch self {
        case .bool: .bool
        case .int8, .int16, .int32, .int64: .int
        case .uint8, .uint16, .uint32, .uint64: .uint
        case .float32, .float64: .double
        case .string: .string
        }
    }
}

/// How a `SampleValue`'s 8 bytes are to be read.
public enum ValueKind: UInt8, Sendable {
    case bool, int, uint, double, string
}
