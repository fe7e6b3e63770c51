import RailgateConfig

/// One DBC signal compiled for the sampling path: reads its raw value out
/// of a frame's data bytes and scales it, without allocating.
public struct SignalCodec: Sendable, Equatable {
    public let startBit: Int
    public let length: Int
    public let littleEndian: Bool
    public let isSigned: Bool
    public let factor: Double
    public let offset: Double
    public let valueType: DBCFile.Signal.ValueType
    /// Highest data byte the signal touches: frames shorter than this + 1 cannot carry it.
    public let lastByte: Int

    public init(_ signal: DBCFile.Signal) {
        startBit = signal.startBit
        length = signal.length
        littleEndian = signal.littleEndian
        isSigned = signal.isSigned
        factor = signal.factor
        offset = signal.offset
        valueType = signal.valueType
        lastByte = DBCFile.bits(of: signal).map { $0 >> 3 }.max() ?? 0
    }

    /// Walks the signal's bits byte by byte: `body(byte, shift, width,
    /// valueShift)` says that `width` bits at `shift` in data byte `byte`
    /// are bits `valueShift..<valueShift + width` of the raw value. Intel
    /// signals run upwards from their least significant bit; Motorola ones
    /// from their most significant bit down through the bytes in order.
    @inline(__always)
    func forEachPiece(_ body: (_ byte: Int, _ shift: Int, _ width: Int, _ valueShift: Int) -> Void) {
        var position = startBit
        var done = 0
        while done < length {
            let bit = position & 7
            if littleEndian {
                let width = min(8 - bit, length - done)
                body(position >> 3, bit, width, done)
                position += width
                done += width
            } else {
                let width = min(bit + 1, length - done)
                body(position >> 3, bit + 1 - width, width, length - done - width)
                position = ((position >> 3) + 1) * 8 + 7
                done += width
            }
        }
    }

    /// The raw bits, or nil when `data` is too short.
    @inline(__always)
    public func raw(_ data: UnsafeRawBufferPointer) -> UInt64? {
        guard data.count > lastByte else { return nil }
        var value: UInt64 = 0
        forEachPiece { byte, shift, width, valueShift in
            let bits = (UInt64(data[byte]) >> UInt64(shift)) & ((1 << UInt64(width)) - 1)
            value |= bits << UInt64(valueShift)
        }
        return value
    }

    /// The raw value as a signed or unsigned integer (two's complement over `length` bits).
    @inline(__always)
    public func integer(_ raw: UInt64) -> Int64 {
        guard isSigned, length < 64 else { return Int64(bitPattern: raw) }
        let sign: UInt64 = 1 << UInt64(length - 1)
        return raw & sign != 0 ? Int64(bitPattern: raw | ~((sign << 1) &- 1)) : Int64(bitPattern: raw)
    }

    /// The physical value: raw × factor + offset (IEEE floats as they are).
    @inline(__always)
    public func physical(_ raw: UInt64) -> Double {
        switch valueType {
        case .float32: Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw))) * factor + offset
        case .float64: Double(bitPattern: raw) * factor + offset
        case .integer: (isSigned ? Double(integer(raw)) : Double(raw)) * factor + offset
        }
    }

    /// Writes `raw` into `data` at the signal's bits (for outgoing frames).
    public func insert(_ raw: UInt64, into data: UnsafeMutableRawBufferPointer) {
        guard data.count > lastByte else { return }
        forEachPiece { byte, shift, width, valueShift in
            let mask = UInt8(truncatingIfNeeded: ((1 << UInt64(width)) - 1) << UInt64(shift))
            let bits = UInt8(truncatingIfNeeded: ((raw >> UInt64(valueShift)) & ((1 << UInt64(width)) - 1)) << UInt64(shift))
            data[byte] = (data[byte] & ~mask) | bits
        }
    }

    /// The raw bits for a physical value (rounded; nil when out of the signal's range).
    public func raw(forPhysical value: Double) -> UInt64? {
        switch valueType {
        case .float32: return UInt64(Float((value - offset) / factor).bitPattern)
        case .float64: return ((value - offset) / factor).bitPattern
        case .integer:
            let scaled = ((value - offset) / factor).rounded()
            if isSigned {
                let limit = length == 64 ? Double(Int64.max) : Double((Int64(1) << Int64(length - 1)) - 1)
                guard scaled >= -limit - 1, scaled <= limit else { return nil }
                return UInt64(bitPattern: Int64(scaled)) & (length == 64 ? .max : (1 << UInt64(length)) - 1)
            }
            let limit = length == 64 ? Double(UInt64.max) : Double((UInt64(1) << UInt64(length)) - 1)
            guard scaled >= 0, scaled <= limit else { return nil }
            return UInt64(scaled)
        }
    }
}
