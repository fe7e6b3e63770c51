/// Little-endian integers in byte arrays: the on-disk formats (journal segments and cursor,
/// history files) are little-endian whatever the machine.
public enum LittleEndian {
    /// The `T` stored at `offset` (the caller has checked that its bytes are there).
    @inlinable
    public static func read<T: FixedWidthInteger, C: Collection>(_: T.Type, _ bytes: C, at offset: Int) -> T
    where C.Element == UInt8, C.Index == Int {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size { value |= T(truncatingIfNeeded: bytes[offset + index]) << (8 * index) }
        return value
    }

    /// Appends `value`'s bytes.
    @inlinable
    public static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Writes `value`'s bytes at `offset` (the caller has made room).
    @inlinable
    public static func write<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8], at offset: Int) {
        for index in 0..<MemoryLayout<T>.size { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }
}
