/// Turns 16-bit registers into values and back, honouring type, byte/word
/// order and scaling.
///
/// HOT PATH: `decode` runs in the sampling loop; it reads from the caller's
/// buffer and allocates nothing.
public enum RegisterCodec {
    /// Assembles `count` (1, 2 or 4) registers into one big-endian integer.
    @inlinable
    public static func assemble(_ registers: UnsafePointer<UInt16>, count: Int, order: ByteOrder) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<count {
            var word = registers[order.swapsWords ? count - 1 - i : i]
            if order.swapsBytes { word = word.byteSwapped }
            value = value << 16 | UInt64(word)
        }
        return value
    }

    /// Decodes a numeric or bool (bit-in-register) value; scaling applied.
    /// `bit` is the bit number (0 = least significant) for `bool` tags.
    @inlinable
    public static func decode(_ registers: UnsafePointer<UInt16>, type: DataType, order: ByteOrder,
                              bit: Int, scaling: Scaling) -> SampleValue {
        let raw: SampleValue
        switch type {
        case .bool:
            return SampleValue(bool: registers[0] & (1 << UInt16(bit)) != 0)
        case .int8:
            raw = SampleValue(int: Int64(Int8(truncatingIfNeeded: registers[0])))
        case .uint8:
            raw = SampleValue(uint: UInt64(registers[0] & 0xFF))
        case .int16:
            raw = SampleValue(int: Int64(Int16(bitPattern: UInt16(truncatingIfNeeded: assemble(registers, count: 1, order: order)))))
        case .uint16:
            raw = SampleValue(uint: assemble(registers, count: 1, order: order))
        case .int32:
            raw = SampleValue(int: Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: assemble(registers, count: 2, order: order)))))
        case .uint32:
            raw = SampleValue(uint: assemble(registers, count: 2, order: order))
        case .int64:
            raw = SampleValue(int: Int64(bitPattern: assemble(registers, count: 4, order: order)))
        case .uint64:
            raw = SampleValue(uint: assemble(registers, count: 4, order: order))
        case .float32:
            raw = SampleValue(double: Double(Float(bitPattern: UInt32(truncatingIfNeeded: assemble(registers, count: 2, order: order)))))
        case .float64:
            raw = SampleValue(double: Double(bitPattern: assemble(registers, count: 4, order: order)))
        case .string:
            return .zero
        }
        if scaling.isIdentity { return raw }
        return SampleValue(double: scaling.apply(raw.numeric(type.rawKind)))
    }

    /// Copies a string of `count` registers into `output` (capacity ≥ 2 × count),
    /// high byte first (low byte first when the order swaps bytes), and returns
    /// the text length: up to the first NUL, without trailing spaces.
    @inlinable
    public static func decodeString(_ registers: UnsafePointer<UInt16>, count: Int, order: ByteOrder,
                                    into output: UnsafeMutablePointer<UInt8>) -> Int {
        var length = 0
        for i in 0..<count {
            let word = registers[i]
            let first = UInt8(truncatingIfNeeded: order.swapsBytes ? word : word >> 8)
            let second = UInt8(truncatingIfNeeded: order.swapsBytes ? word >> 8 : word)
            if first == 0 { break }
            output[length] = first
            length += 1
            if second == 0 { break }
            output[length] = second
            length += 1
        }
        while length > 0 && output[length - 1] == 0x20 { length -= 1 }
        return length
    }

    /// Why a value cannot be written to a tag.
    public enum EncodeError: Error, Equatable, CustomStringConvertible {
        /// The value's kind does not fit the tag (e.g. text for a float32 tag).
        case wrongKind(expected: DataType)
        /// After inverse scaling the value lies outside the wire type's range.
        case outOfRange(raw: Double, type: DataType)
        /// The text is longer than the tag's registers hold.
        case tooLong(bytes: Int, capacity: Int)
        /// The scale is 0, so no raw value maps to the engineering value.
        case notInvertible

        public var description: String {
            switch self {
            case .wrongKind(let type): "value does not fit a \(type) tag"
            case .outOfRange(let raw, let type): "raw value \(raw) is out of range for \(type)"
            case .tooLong(let bytes, let capacity): "text of \(bytes) bytes exceeds the tag's \(capacity) bytes"
            case .notInvertible: "scale 0 cannot be inverted"
            }
        }
    }

    /// Encodes an engineering value into the registers of a tag (inverse
    /// scaling, rounding to integers, range check, byte/word order).
    public static func encode(_ value: WriteValue, for tag: Tag) throws(EncodeError) -> [UInt16] {
        let type = tag.dataType
        if type == .string {
            guard case .text(let text) = value else { throw .wrongKind(expected: type) }
            let bytes = Array(text.utf8)
            let capacity = tag.stringLength * 2
            guard bytes.count <= capacity else { throw .tooLong(bytes: bytes.count, capacity: capacity) }
            var words = [UInt16](repeating: 0, count: tag.stringLength)
            for (i, byte) in bytes.enumerated() {
                let high = i % 2 == 0
                let shift: UInt16 = (high != tag.order.swapsBytes) ? 8 : 0
                words[i / 2] |= UInt16(byte) << shift
            }
            return words
        }
        if type == .bool {
            throw .wrongKind(expected: type)
        }
        let engineering: Double
        switch value {
        case .number(let number): engineering = number
        case .bool(let flag): engineering = flag ? 1 : 0
        case .text: throw .wrongKind(expected: type)
        }
        guard let raw = tag.scaling.invert(engineering) else { throw .notInvertible }
        let bits: UInt64
        switch type {
        case .float32:
            // Finite and within Float: 1e308 must not reach the device as +inf.
            guard raw.isFinite, abs(raw) <= Double(Float.greatestFiniteMagnitude) else { throw .outOfRange(raw: raw, type: type) }
            bits = UInt64(Float(raw).bitPattern)
        case .float64:
            guard raw.isFinite else { throw .outOfRange(raw: raw, type: type) }
            bits = raw.bitPattern
        default:
            let rounded = raw.rounded()
            let (low, high): (Double, Double) = switch type {
            case .int8: (-128, 127)
            case .uint8: (0, 255)
            case .int16: (-32768, 32767)
            case .uint16: (0, 65535)
            case .int32: (-2_147_483_648, 2_147_483_647)
            case .uint32: (0, 4_294_967_295)
            case .int64: (-9_223_372_036_854_775_808, 9_223_372_036_854_774_784)
            default: (0, 18_446_744_073_709_549_568)
            }
            guard rounded.isFinite, rounded >= low, rounded <= high else { throw .outOfRange(raw: raw, type: type) }
            bits = switch type {
            case .int8, .int16, .int32, .int64: UInt64(bitPattern: Int64(rounded))
            default: UInt64(rounded)
            }
        }
        let count = type.registerCount(stringLength: 0)
        var words = [UInt16](repeating: 0, count: count)
        if type == .int8 || type == .uint8 {
            // One octet, in the low byte of the word.
            return [UInt16(truncatingIfNeeded: bits) & 0xFF]
        }
        for i in 0..<count {
            var word = UInt16(truncatingIfNeeded: bits >> (16 * UInt64(count - 1 - i)))
            if tag.order.swapsBytes { word = word.byteSwapped }
            words[tag.order.swapsWords ? count - 1 - i : i] = word
        }
        return words
    }
}

/// A value north asks to write, before it is encoded for the tag.
public enum WriteValue: Sendable, Equatable, CustomStringConvertible {
    case bool(Bool)
    case number(Double)
    case text(String)

    public var description: String {
        switch self {
        case .bool(let flag): "\(flag)"
        case .number(let number): "\(number)"
        case .text(let text): "\"\(text)\""
        }
    }
}
