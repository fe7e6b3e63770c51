/// Writes OPC UA Binary (Part 6 §5.2): little-endian into a growing buffer.
public struct UAWriter {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    /// Empties the writer for its next message, keeping its buffer unless it grew past
    /// `keeping` bytes (one large answer must not hold its memory for good).
    public mutating func reset(keeping: Int = 1 << 20) {
        if bytes.capacity > keeping { bytes = [] } else { bytes.removeAll(keepingCapacity: true) }
    }

    @inline(__always)
    mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeBoolean(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func writeSByte(_ value: Int8) { writeInteger(value) }
    public mutating func writeByte(_ value: UInt8) { bytes.append(value) }
    public mutating func writeInt16(_ value: Int16) { writeInteger(value) }
    public mutating func writeUInt16(_ value: UInt16) { writeInteger(value) }
    public mutating func writeInt32(_ value: Int32) { writeInteger(value) }
    public mutating func writeUInt32(_ value: UInt32) { writeInteger(value) }
    public mutating func writeInt64(_ value: Int64) { writeInteger(value) }
    public mutating func writeUInt64(_ value: UInt64) { writeInteger(value) }
    public mutating func writeFloat(_ value: Float) { writeInteger(value.bitPattern) }
    public mutating func writeDouble(_ value: Double) { writeInteger(value.bitPattern) }

    public mutating func writeBytes<C: Collection>(_ raw: C) where C.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    /// nil is the null string (length -1).
    public mutating func writeString(_ value: String?) {
        guard let value else { return writeInt32(-1) }
        let utf8 = value.utf8
        writeInt32(Int32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// A String from its UTF-8 bytes.
    public mutating func writeString(utf8: UnsafeBufferPointer<UInt8>) {
        writeInt32(Int32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    public mutating func writeByteString(_ value: [UInt8]?) {
        guard let value else { return writeInt32(-1) }
        writeInt32(Int32(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func writeArray<T>(_ values: [T], _ element: (inout UAWriter, T) -> Void) {
        writeInt32(Int32(values.count))
        for value in values { element(&self, value) }
    }

    /// Overwrites 4 bytes at `offset` (message sizes known only at the end).
    public mutating func patchUInt32(_ value: UInt32, at offset: Int) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }
}
