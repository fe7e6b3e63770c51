import Testing
@testable import ModbusSouth
import RailgateConfig

struct ModbusAnswerTests {
    let registers = UnsafeMutablePointer<UInt16>.allocate(capacity: 125)
    let bits = UnsafeMutablePointer<UInt8>.allocate(capacity: 2000)

    func rtu(_ bytes: [UInt8], unit: Int = 1, table: ModbusTable = .holdingRegister, count: Int = 2,
             expected: ModbusAnswer.Expected? = nil) -> ModbusAnswer.Verdict {
        var frame = bytes
        let crc = ModbusAnswer.crc16(frame, count: frame.count)
        frame += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        return checkedRTU(frame, unit: unit, table: table, count: count, expected: expected)
    }

    func checkedRTU(_ frame: [UInt8], unit: Int = 1, table: ModbusTable = .holdingRegister, count: Int = 2,
                    expected: ModbusAnswer.Expected? = nil) -> ModbusAnswer.Verdict {
        let expected = expected ?? .read(table, count: count)
        guard let length = ModbusAnswer.rtuLength(frame, expected: expected), length == frame.count else {
            return .failed(ModbusAnswer.protocolError)
        }
        return ModbusAnswer.checkRTU(frame, length: length, unit: unit, expected: expected,
                                     registers: registers, bits: bits)
    }

    @Test func crcOfTheSpecificationsExample() {
        // Read 10 holding registers from unit 1 at 0: 01 03 00 00 00 0A C5 CD on the wire.
        #expect(ModbusAnswer.crc16([0x01, 0x03, 0x00, 0x00, 0x00, 0x0A], count: 6) == 0xCDC5)
    }

    @Test func rtuAnswerIsCopiedOut() {
        #expect(rtu([1, 3, 4, 0x12, 0x34, 0xAB, 0xCD]) == .done)
        #expect(registers[0] == 0x1234 && registers[1] == 0xABCD)
        #expect(rtu([1, 1, 1, 0b101], table: .coil, count: 3) == .done)
        #expect(bits[0] == 1 && bits[1] == 0 && bits[2] == 1)
    }

    @Test func rtuAnswersThatDoNotFitAreRefused() {
        #expect(rtu([2, 3, 4, 0, 1, 0, 2]) == .failed(ModbusAnswer.badUnit))
        #expect(rtu([1, 3, 2, 0, 1]) == .failed(ModbusAnswer.protocolError))        // one register of two
        #expect(rtu([1, 4, 4, 0, 1, 0, 2]) == .failed(ModbusAnswer.protocolError))  // another function
        #expect(rtu([1, 0x83, 2]) == .failed(ModbusErrno.base + 2))                 // exception 2
        #expect(rtu([1, 0x83, 0]) == .failed(ModbusAnswer.protocolError))           // no such exception
        var frame: [UInt8] = [1, 3, 4, 0, 1, 0, 2]
        let crc = ModbusAnswer.crc16(frame, count: frame.count) ^ 1
        frame += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        #expect(checkedRTU(frame) == .failed(ModbusErrno.badCRC))
    }

    @Test func tcpAnswersAreMatchedToTheirRequest() {
        func tcp(_ bytes: [UInt8], transaction: UInt16 = 7) -> ModbusAnswer.Verdict {
            guard let length = ModbusAnswer.tcpLength(bytes), bytes.count == 6 + length else {
                return .failed(ModbusAnswer.protocolError)
            }
            return ModbusAnswer.checkTCP(bytes, length: length, transactionId: transaction, unit: 1,
                                         expected: .read(.holdingRegister, count: 1), registers: registers, bits: bits)
        }
        #expect(tcp([0, 7, 0, 0, 0, 5, 1, 3, 2, 0x01, 0x02]) == .done)
        #expect(registers[0] == 0x0102)
        #expect(tcp([0, 6, 0, 0, 0, 5, 1, 3, 2, 0x01, 0x02]) == .skip)                       // an earlier request's
        #expect(tcp([0, 7, 0, 0, 0, 5, 9, 3, 2, 0x01, 0x02]) == .failed(ModbusAnswer.badUnit))
        #expect(ModbusAnswer.tcpLength([0, 7, 0, 1, 0, 5, 1]) == nil)                        // not Modbus
        #expect(ModbusAnswer.tcpLength([0, 7, 0, 0, 1, 0, 1]) == nil)                        // longer than a PDU
    }

    @Test func aWriteIsDoneWhenItsAnswerRepeatsAddressAndValue() {
        let single = ModbusAnswer.Expected.write(function: 0x06, address: 40, value: 500)
        #expect(rtu([1, 6, 0, 40, 0x01, 0xF4], expected: single) == .done)
        #expect(rtu([1, 6, 0, 41, 0x01, 0xF4], expected: single) == .failed(ModbusAnswer.protocolError))
        #expect(rtu([1, 6, 0, 40, 0x01, 0xF5], expected: single) == .failed(ModbusAnswer.protocolError))
        #expect(rtu([1, 0x86, 4], expected: single) == .failed(ModbusErrno.base + 4))
        let multiple = ModbusAnswer.Expected.write(function: 0x10, address: 41, value: 2)
        #expect(rtu([1, 0x10, 0, 41, 0, 2], expected: multiple) == .done)
        #expect(rtu([1, 0x10, 0, 41, 0, 1], expected: multiple) == .failed(ModbusAnswer.protocolError))
    }
}
