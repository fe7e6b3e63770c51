import RailgateConfig

/// The checks of a read's answer, apart from the I/O that receives it (`ModbusConnection`), so
/// that they can be fuzzed (scripts/fuzz, harness `modbus`). Modbus Application Protocol V1.1b3
/// §6.1–6.4, Modbus TCP (MBAP) §3.1.3, Modbus over serial line V1.02 §2.5.1.
/// Allocates nothing.
enum ModbusAnswer {
    enum Verdict: Equatable {
        /// The values were copied out.
        case done
        /// A TCP answer to an earlier request: wait for the next frame.
        case skip
        /// libmodbus-style errno: exception (base + code), CRC, protocol error, wrong unit.
        case failed(Int32)
    }

    /// What answers the request sent.
    enum Expected: Equatable {
        /// `count` values of `table` (FC 1–4).
        case read(ModbusTable, count: Int)
        /// FC 5, 6, 15 or 16: the answer repeats the address and the value or quantity.
        case write(function: UInt8, address: UInt16, value: UInt16)

        var function: UInt8 {
            switch self {
            case .read(let table, _): ModbusAnswer.function(table)
            case .write(let function, _, _): function
            }
        }
    }

    static let protocolError = ModbusErrno.base + 13
    static let badUnit = ModbusErrno.base + 17

    static func function(_ table: ModbusTable) -> UInt8 {
        switch table {
        case .coil: 0x01
        case .discreteInput: 0x02
        case .holdingRegister: 0x03
        case .inputRegister: 0x04
        }
    }

    /// Octets of data an answer to `count` items carries.
    @inline(__always)
    static func expectedBytes(_ table: ModbusTable, count: Int) -> Int {
        table.isBits ? (count + 7) / 8 : count * 2
    }

    /// The five PDU octets function, start, count of a read request.
    @inline(__always)
    static func readRequest(into out: UnsafeMutablePointer<UInt8>, _ table: ModbusTable, start: Int, count: Int) {
        out[0] = function(table)
        put(UInt16(truncatingIfNeeded: start), at: out + 1)
        put(UInt16(truncatingIfNeeded: count), at: out + 3)
    }

    /// A big-endian 16-bit field.
    @inline(__always)
    static func put(_ value: UInt16, at out: UnsafeMutablePointer<UInt8>) {
        out[0] = UInt8(value >> 8); out[1] = UInt8(value & 0xFF)
    }

    /// The big-endian 16-bit field at `bytes`.
    @inline(__always)
    static func word(at bytes: UnsafePointer<UInt8>) -> UInt16 { UInt16(bytes[0]) << 8 | UInt16(bytes[1]) }

    /// The MBAP length field (unit id onwards) of the 7-octet header at `frame`, or nil when the
    /// header is not Modbus TCP (protocol id 0, length 2…254: PDUs are at most 253 octets).
    @inline(__always)
    static func tcpLength(_ frame: UnsafePointer<UInt8>) -> Int? {
        let length = Int(word(at: frame + 4))
        guard word(at: frame + 2) == 0, (2...254).contains(length) else { return nil }
        return length
    }

    /// A complete Modbus TCP frame (`6 + length` octets) against the request sent.
    static func checkTCP(_ frame: UnsafePointer<UInt8>, length: Int, transactionId: UInt16, unit: Int,
                         expected: Expected,
                         registers: UnsafeMutablePointer<UInt16>, bits: UnsafeMutablePointer<UInt8>) -> Verdict {
        if word(at: frame) != transactionId { return .skip }
        return checkPDU(frame + 6, length: length, unit: unit, expected: expected, registers: registers, bits: bits)
    }

    /// The length of the RTU answer whose first three octets are at `head` (unit, function,
    /// byte count, address or exception code), CRC included; nil when the function is neither
    /// the one asked nor its exception. At most 3 + 255 + 2 = 260 octets.
    @inline(__always)
    static func rtuLength(_ head: UnsafePointer<UInt8>, expected: Expected) -> Int? {
        let function = expected.function
        if head[1] == function | 0x80 { return 5 }
        guard head[1] == function else { return nil }
        if case .write = expected { return 8 }
        return 3 + Int(head[2]) + 2
    }

    /// A complete RTU answer of `length` octets (CRC last, low octet first).
    static func checkRTU(_ frame: UnsafePointer<UInt8>, length: Int, unit: Int, expected: Expected,
                         registers: UnsafeMutablePointer<UInt16>, bits: UnsafeMutablePointer<UInt8>) -> Verdict {
        guard length >= 5 else { return .failed(protocolError) }
        let crc = UInt16(frame[length - 2]) | UInt16(frame[length - 1]) << 8
        guard crc16(frame, count: length - 2) == crc else { return .failed(ModbusErrno.badCRC) }
        return checkPDU(frame, length: length - 2, unit: unit, expected: expected, registers: registers, bits: bits)
    }

    /// Unit id and PDU (`length` octets from the unit id) against the request sent; copies a
    /// read's values out when they fit.
    private static func checkPDU(_ pdu: UnsafePointer<UInt8>, length: Int, unit: Int, expected: Expected,
                                 registers: UnsafeMutablePointer<UInt16>, bits: UnsafeMutablePointer<UInt8>) -> Verdict {
        guard length >= 2 else { return .failed(protocolError) }
        guard pdu[0] == UInt8(truncatingIfNeeded: unit) else { return .failed(badUnit) }
        let asked = expected.function
        if pdu[1] == asked | 0x80 {
            guard length >= 3, (1...11).contains(pdu[2]) else { return .failed(protocolError) }
            return .failed(ModbusErrno.base + Int32(pdu[2]))
        }
        guard pdu[1] == asked else { return .failed(protocolError) }
        switch expected {
        case .write(_, let address, let value):
            // The answer repeats address and value (FC 5, 6) or quantity (FC 15, 16).
            guard length == 6, word(at: pdu + 2) == address, word(at: pdu + 4) == value else {
                return .failed(protocolError)
            }
        case .read(let table, let count):
            let byteCount = expectedBytes(table, count: count)
            guard length == 3 + byteCount, Int(pdu[2]) == byteCount else { return .failed(protocolError) }
            let data = pdu + 3
            if table.isBits {
                for index in 0..<count { bits[index] = (data[index >> 3] >> UInt8(index & 7)) & 1 }
            } else {
                for index in 0..<count { registers[index] = word(at: data + 2 * index) }
            }
        }
        return .done
    }

    /// CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF), serial line V1.02 §6.2.2.
    @inline(__always)
    static func crc16(_ bytes: UnsafePointer<UInt8>, count: Int) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        for index in 0..<count {
            crc ^= UInt16(bytes[index])
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        return crc
    }
}
