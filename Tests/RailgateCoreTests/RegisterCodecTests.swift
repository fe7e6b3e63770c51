import Testing
@testable import RailgateCore

/// Golden values: the wire registers of known numbers in each byte order.
struct RegisterCodecTests {
    func decode(_ words: [UInt16], _ type: DataType, _ order: ByteOrder = .abcd, bit: Int = 0,
                scaling: Scaling = .identity) -> SampleValue {
        words.withUnsafeBufferPointer {
            RegisterCodec.decode($0.baseAddress!, type: type, order: order, bit: bit, scaling: scaling)
        }
    }

    @Test func float32InEveryOrder() {
        // 230.5 = 0x43668000
        #expect(decode([0x4366, 0x8000], .float32, .abcd).double == 230.5)
        #expect(decode([0x8000, 0x4366], .float32, .cdab).double == 230.5)
        #expect(decode([0x6643, 0x0080], .float32, .badc).double == 230.5)
        #expect(decode([0x0080, 0x6643], .float32, .dcba).double == 230.5)
    }

    @Test func integersSignedAndUnsigned() {
        #expect(decode([0xFF83], .int16).int == -125)
        #expect(decode([0xFF83], .uint16).uint == 65411)
        #expect(decode([0x83FF], .int16, .badc).int == -125)
        #expect(decode([0x075B, 0xCD15], .uint32).uint == 123_456_789)
        #expect(decode([0xCD15, 0x075B], .uint32, .cdab).uint == 123_456_789)
        #expect(decode([0xFFFF, 0xFFFF], .int32).int == -1)
        // -9876543210 = 0xFFFFFFFDB34FE916 → words FFFF FFFD B34F E916
        #expect(decode([0xFFFF, 0xFFFD, 0xB34F, 0xE916], .int64).int == -9_876_543_210)
        #expect(decode([0xE916, 0xB34F, 0xFFFD, 0xFFFF], .int64, .cdab).int == -9_876_543_210)
        #expect(decode([0x16E9, 0x4FB3, 0xFDFF, 0xFFFF], .int64, .dcba).int == -9_876_543_210)
        #expect(decode([0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF], .uint64).uint == UInt64.max)
    }

    @Test func float64() {
        let bits = 3.14159265358979.bitPattern
        let words = (0..<4).map { UInt16(truncatingIfNeeded: bits >> (48 - 16 * UInt64($0))) }
        #expect(decode(words, .float64).double == 3.14159265358979)
        #expect(decode(words.reversed(), .float64, .cdab).double == 3.14159265358979)
    }

    @Test func bitInRegister() {
        #expect(decode([0x0005], .bool, bit: 0).bool == true)
        #expect(decode([0x0005], .bool, bit: 1).bool == false)
        #expect(decode([0x0005], .bool, bit: 2).bool == true)
        #expect(decode([0x8000], .bool, bit: 15).bool == true)
    }

    @Test func scalingTurnsValuesIntoDoubles() {
        #expect(decode([0xFF83], .int16, scaling: Scaling(scale: 0.1)).double == -12.5)
        #expect(decode([100], .uint16, scaling: Scaling(scale: 2, offset: -50)).double == 150)
    }

    @Test func stringsStopAtNulAndTrimSpaces() {
        let words: [UInt16] = [0x5247, 0x2D4D, 0x4554, 0x4552, 0x2D30, 0x3100, 0, 0]  // "RG-METER-01"
        var output = [UInt8](repeating: 0, count: 16)
        let length = words.withUnsafeBufferPointer { regs in
            output.withUnsafeMutableBufferPointer {
                RegisterCodec.decodeString(regs.baseAddress!, count: 8, order: .abcd, into: $0.baseAddress!)
            }
        }
        #expect(String(decoding: output[..<length], as: UTF8.self) == "RG-METER-01")

        let swapped: [UInt16] = [0x4B4F, 0x2020]  // "OK  " low byte first
        let swappedLength = swapped.withUnsafeBufferPointer { regs in
            output.withUnsafeMutableBufferPointer {
                RegisterCodec.decodeString(regs.baseAddress!, count: 2, order: .badc, into: $0.baseAddress!)
            }
        }
        #expect(String(decoding: output[..<swappedLength], as: UTF8.self) == "OK")
    }

    func tag(_ type: DataType, _ order: ByteOrder = .abcd, scaling: Scaling = .identity, length: Int = 0) -> Tag {
        Tag(name: "t", device: "d", path: "p/d/t", dataType: type, order: order, scaling: scaling,
            writable: true, stringLength: length)
    }

    @Test func encodeIsTheInverseOfDecode() throws {
        for order in ByteOrder.allCases {
            let words = try RegisterCodec.encode(.number(230.5), for: tag(.float32, order))
            #expect(decode(words, .float32, order).double == 230.5)
            let wide = try RegisterCodec.encode(.number(-9_876_543_210), for: tag(.int64, order))
            #expect(decode(wide, .int64, order).int == -9_876_543_210)
        }
        let scaled = try RegisterCodec.encode(.number(-12.5), for: tag(.int16, scaling: Scaling(scale: 0.1)))
        #expect(scaled == [0xFF83])
        let text = try RegisterCodec.encode(.text("OK!"), for: tag(.string, length: 3))
        #expect(text == [0x4F4B, 0x2100, 0])
    }

    @Test func encodeRejectsWhatDoesNotFit() throws {
        #expect(throws: RegisterCodec.EncodeError.outOfRange(raw: 70000, type: .uint16)) {
            try RegisterCodec.encode(.number(70000), for: tag(.uint16))
        }
        #expect(throws: RegisterCodec.EncodeError.outOfRange(raw: -1, type: .uint32)) {
            try RegisterCodec.encode(.number(-1), for: tag(.uint32))
        }
        #expect(throws: RegisterCodec.EncodeError.wrongKind(expected: .float32)) {
            try RegisterCodec.encode(.text("x"), for: tag(.float32))
        }
        #expect(throws: RegisterCodec.EncodeError.tooLong(bytes: 5, capacity: 4)) {
            try RegisterCodec.encode(.text("12345"), for: tag(.string, length: 2))
        }
        #expect(throws: RegisterCodec.EncodeError.outOfRange(raw: .infinity, type: .int32)) {
            try RegisterCodec.encode(.number(.infinity), for: tag(.int32))
        }
        // Floats: 1e308 does not fit a float32 (it would be +inf on the device); NaN and ∞ are no value.
        #expect(throws: RegisterCodec.EncodeError.outOfRange(raw: 1e308, type: .float32)) {
            try RegisterCodec.encode(.number(1e308), for: tag(.float32))
        }
        #expect(throws: RegisterCodec.EncodeError.self) { try RegisterCodec.encode(.number(.nan), for: tag(.float32)) }
        #expect(throws: RegisterCodec.EncodeError.self) { try RegisterCodec.encode(.number(-.infinity), for: tag(.float64)) }
        #expect(try RegisterCodec.encode(.number(3.4e38), for: tag(.float32)).count == 2)
    }
}
