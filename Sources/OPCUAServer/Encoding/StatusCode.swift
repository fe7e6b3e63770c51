/// The result of an operation (Part 4 §7.39); the top two bits give the
/// severity. Named codes are generated from StatusCode.csv.
public struct StatusCode: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public var isGood: Bool { rawValue & 0xC000_0000 == 0 }
    public var isBad: Bool { rawValue & 0x8000_0000 != 0 }
    public var isUncertain: Bool { rawValue & 0xC000_0000 == 0x4000_0000 }

    public var description: String {
        let hex = String(rawValue, radix: 16, uppercase: true)
        let code = "0x" + String(repeating: "0", count: 8 - hex.count) + hex
        return StatusCode.names[rawValue & 0xFFFF_0000].map { "\($0) (\(code))" } ?? code
    }
}

extension StatusCode: UACodable {
    public init(from reader: inout UAReader) throws(UADecodingError) { rawValue = try reader.readUInt32() }
    public func encode(to writer: inout UAWriter) { writer.writeUInt32(rawValue) }
}
