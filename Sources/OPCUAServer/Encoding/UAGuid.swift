/// A GUID: Data1 (UInt32), Data2, Data3 (UInt16), Data4 (8 bytes), Part 6 §5.2.2.7.
public struct UAGuid: Hashable, Sendable, CustomStringConvertible {
    public var data1: UInt32
    public var data2: UInt16
    public var data3: UInt16
    public var data4: [UInt8]

    public init(data1: UInt32, data2: UInt16, data3: UInt16, data4: [UInt8]) {
        self.data1 = data1
        self.data2 = data2
        self.data3 = data3
        self.data4 = data4
    }

    public var description: String {
        func hex<T: BinaryInteger>(_ v: T, _ width: Int) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let tail = data4.map { hex($0, 2) }
        return "\(hex(data1, 8))-\(hex(data2, 4))-\(hex(data3, 4))-\(tail[0..<2].joined())-\(tail[2...].joined())"
    }
}

extension UAGuid: UACodable {
    public init(from reader: inout UAReader) throws(UADecodingError) {
        data1 = try reader.readUInt32()
        data2 = try reader.readUInt16()
        data3 = try reader.readUInt16()
        data4 = Array(try reader.readBytes(8))
    }

    public func encode(to writer: inout UAWriter) {
        writer.writeUInt32(data1)
        writer.writeUInt16(data2)
        writer.writeUInt16(data3)
        writer.writeBytes(data4.count == 8 ? data4 : Array(data4.prefix(8)) + Array(repeating: 0, count: max(0, 8 - data4.count)))
    }
}
