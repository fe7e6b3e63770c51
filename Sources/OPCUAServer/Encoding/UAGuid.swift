/// A GUID: Data1 (UInt32), Data2, Data3 (UInt16), Data4 (8 bytes), Part 6 §5.2.2.7.
public struct UAGuid: Hashable, Sendable, CustomStringConvertible {
    public var data1: UInt32
    public var data2: UInt16
    public var data3: UInt16
    /// Data4's 8 bytes in wire order, the first in the lowest bits: a GUID is a value of its own,
    /// with no array to allocate when it is read.
    public var data4: UInt64

    public init(data1: UInt32, data2: UInt16, data3: UInt16, data4: UInt64) {
        self.data1 = data1
        self.data2 = data2
        self.data3 = data3
        self.data4 = data4
    }

    /// The GUID whose 16-byte encoding is `bytes` (random bytes make an unguessable one).
    init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "a GUID is 16 bytes")
        func value<T: FixedWidthInteger>(_ range: Swift.Range<Int>, _: T.Type) -> T {
            bytes[range].reversed().reduce(T.zero) { $0 << 8 | T($1) }
        }
        self.init(data1: value(0..<4, UInt32.self), data2: value(4..<6, UInt16.self), data3: value(6..<8, UInt16.self),
                  data4: value(8..<16, UInt64.self))
    }

    /// Data4 as its 8 bytes.
    public var data4Bytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: data4 >> (8 * $0)) } }

    public var description: String {
        func hex<T: BinaryInteger>(_ v: T, _ width: Int) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let tail = data4Bytes.map { hex($0, 2) }
        return "\(hex(data1, 8))-\(hex(data2, 4))-\(hex(data3, 4))-\(tail[0..<2].joined())-\(tail[2...].joined())"
    }
}

extension UAGuid: UACodable {
    public init(from reader: inout UAReader) throws(UADecodingError) {
        data1 = try reader.readUInt32()
        data2 = try reader.readUInt16()
        data3 = try reader.readUInt16()
        data4 = try reader.readUInt64()
    }

    public func encode(to writer: inout UAWriter) {
        writer.writeUInt32(data1)
        writer.writeUInt16(data2)
        writer.writeUInt16(data3)
        writer.writeUInt64(data4)
    }
}
