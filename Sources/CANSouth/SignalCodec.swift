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

    /// The raw bits, or nil when `data` is too short.
    @inline(__always)
    public func raw(_ data: UnsafeRawBufferPointer) -> UInt64? {
        guard data.count > lastByte else { return nil }
        var value: UInt64 = 0
        if littleEndian {
            var done = 0
            var position = startBit
            while done < length {
                let bit = position & 7
                let take = min(8 - bit, length - done)
                let bits = (UInt64(data[position >> 3]) >> UInt64(bit)) & ((1 << UInt64(take)) - 1)
                value |= bits << UInt64(done)
                done += take
                position += take
            }
        } else {
            var remaining = length
            var position = startBit
            while remaining > 0 {
                let bit = position & 7
                let take = min(bit + 1, remaining)
                let bits = (UInt64(data[position >> 3]) >> UInt64(bit + 1 - take)) & ((1 << UInt64(take)) - 1)
                value = value << UInt64(take) | bits
                remaining -= take
                position = ((position >> 3) + 1) * 8 + 7
            }
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
        let value = length == 64 ? raw : raw & ((1 << UInt64(length)) - 1)
        if littleEndian {
            var done = 0
            var position = startBit
            while done < length {
                let bit = position & 7
                let take = min(8 - bit, length - done)
                let mask = UInt8(truncatingIfNeeded: ((1 << UInt64(take)) - 1) << UInt64(bit))
                let bits = UInt8(truncatingIfNeeded: (value >> UInt64(done)) << UInt64(bit)) & mask
                data[position >> 3] = (data[position >> 3] & ~mask) | bits
                done += take
                position += take
            }
        } else {
            var remaining = length
            var position = startBit
            while remaining > 0 {
                let bit = position & 7
                let take = min(bit + 1, remaining)
                let shift = bit + 1 - take
                let mask = UInt8(truncatingIfNeeded: ((1 << UInt64(take)) - 1) << UInt64(shift))
                let chunk = (value >> UInt64(remaining - take)) & ((1 << UInt64(take)) - 1)
                let bits = UInt8(truncatingIfNeeded: chunk << UInt64(shift)) & mask
                data[position >> 3] = (data[position >> 3] & ~mask) | bits
                remaining -= take
                position = ((position >> 3) + 1) * 8 + 7
            }
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
