/// Why a message could not be decoded. Every decoder checks bounds before
/// reading, so malformed input ends here instead of crashing.
public enum UADecodingError: Error, Equatable, CustomStringConvertible {
    /// The message ended `needed` bytes before the value did.
    case truncated(needed: Int, offset: Int)
    /// A length or count is negative (other than the null marker -1) or larger than allowed.
    case badLength(Int32, offset: Int)
    /// An encoding byte or enumeration value this decoder does not know.
    case badEncoding(String, offset: Int)
    /// Nesting (Variant in Variant, DiagnosticInfo chains) deeper than allowed.
    case tooDeep(offset: Int)

    public var description: String {
        switch self {
        case .truncated(let needed, let offset): "message truncated: \(needed) more byte(s) needed at offset \(offset)"
        case .badLength(let length, let offset): "invalid length \(length) at offset \(offset)"
        case .badEncoding(let what, let offset): "invalid encoding at offset \(offset): \(what)"
        case .tooDeep(let offset): "nesting too deep at offset \(offset)"
        }
    }
}

/// Reads OPC UA Binary (Part 6 §5.2): little-endian, bounds-checked.
public struct UAReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    /// Upper bound for any array count or string length, against hostile counts.
    public var maxArrayLength: Int = 1 << 20
    /// Array elements the whole message may still hold. A decoded element takes tens of
    /// bytes of memory where its encoding may take one (an empty Variant): without a total, a
    /// 16 MiB request of them would need about 900 MB. Legitimate requests hold at most a few
    /// elements per node, and nodes per request are bounded (`max_nodes_per_request`).
    public var elementBudget: Int = UAReader.maxElements
    public static let maxElements = 1 << 18
    var depth = 0
    static let maxDepth = 32

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    @inline(__always)
    mutating func need(_ count: Int) throws(UADecodingError) {
        guard count <= bytes.count - offset else { throw .truncated(needed: count - remaining, offset: offset) }
    }

    public mutating func readBytes(_ count: Int) throws(UADecodingError) -> ArraySlice<UInt8> {
        try need(count)
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// Lends the next `count` bytes to `body` without copying them, and moves past them.
    public mutating func withBytes<R>(_ count: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) throws(UADecodingError) -> R {
        try need(count)
        defer { offset += count }
        let start = offset
        return bytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[start..<start + count])) }
    }

    /// Moves to an offset: back to one read before (to decode a value again another way), or
    /// on to one a first reading of the same bytes reached.
    mutating func seek(to offset: Int) {
        precondition(offset >= 0 && offset <= bytes.count, "offset outside the message")
        self.offset = offset
    }

    public mutating func skip(_ count: Int) throws(UADecodingError) {
        try need(count)
        offset += count
    }

    @inline(__always)
    mutating func readInteger<T: FixedWidthInteger>(_: T.Type) throws(UADecodingError) -> T {
        let size = MemoryLayout<T>.size
        try need(size)
        var value: T = 0
        for i in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i) }
        offset += size
        return value
    }

    public mutating func readBoolean() throws(UADecodingError) -> Bool { try readInteger(UInt8.self) != 0 }
    public mutating func readSByte() throws(UADecodingError) -> Int8 { try readInteger(Int8.self) }
    public mutating func readByte() throws(UADecodingError) -> UInt8 { try readInteger(UInt8.self) }
    public mutating func readInt16() throws(UADecodingError) -> Int16 { try readInteger(Int16.self) }
    public mutating func readUInt16() throws(UADecodingError) -> UInt16 { try readInteger(UInt16.self) }
    public mutating func readInt32() throws(UADecodingError) -> Int32 { try readInteger(Int32.self) }
    public mutating func readUInt32() throws(UADecodingError) -> UInt32 { try readInteger(UInt32.self) }
    public mutating func readInt64() throws(UADecodingError) -> Int64 { try readInteger(Int64.self) }
    public mutating func readUInt64() throws(UADecodingError) -> UInt64 { try readInteger(UInt64.self) }
    public mutating func readFloat() throws(UADecodingError) -> Float { Float(bitPattern: try readInteger(UInt32.self)) }
    public mutating func readDouble() throws(UADecodingError) -> Double { Double(bitPattern: try readInteger(UInt64.self)) }

    /// A length prefix: -1 (null) gives nil; other negatives and lengths past
    /// `maxArrayLength` are errors.
    public mutating func readLength() throws(UADecodingError) -> Int? {
        let start = offset
        let length = try readInt32()
        if length == -1 { return nil }
        guard length >= 0, Int(length) <= maxArrayLength else { throw .badLength(length, offset: start) }
        return Int(length)
    }

    /// UA String: UTF-8 with an Int32 length; -1 is the null string (nil).
    public mutating func readString() throws(UADecodingError) -> String? {
        guard let length = try readLength() else { return nil }
        return String(decoding: try readBytes(length), as: UTF8.self)
    }

    /// UA ByteString: like String, raw bytes.
    public mutating func readByteString() throws(UADecodingError) -> [UInt8]? {
        guard let length = try readLength() else { return nil }
        return Array(try readBytes(length))
    }

    /// An array of `element`s with an Int32 count; null (-1) reads as empty.
    public mutating func readArray<T>(_ element: (inout UAReader) throws(UADecodingError) -> T) throws(UADecodingError) -> [T] {
        let count = try readArrayCount()
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try element(&self)) }
        return result
    }

    /// An array's element count (null reads as 0), checked against what the message can hold
    /// and taken from the message's element budget, for callers that decode the elements themselves.
    public mutating func readArrayCount() throws(UADecodingError) -> Int {
        let start = offset
        guard let count = try readLength() else { return 0 }
        // Every element takes at least one byte: a count past the message is a lie.
        guard count <= remaining else { throw .truncated(needed: count - remaining, offset: offset) }
        guard count <= elementBudget else {
            throw .badEncoding("more than \(Self.maxElements) array elements in one message", offset: start)
        }
        elementBudget -= count
        return count
    }

    mutating func enter() throws(UADecodingError) {
        depth += 1
        guard depth <= Self.maxDepth else { throw .tooDeep(offset: offset) }
    }

    mutating func leave() { depth -= 1 }
}
