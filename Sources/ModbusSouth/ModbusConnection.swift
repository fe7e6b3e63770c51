import CModbus
import Glibc
import RailgateConfig
import RailgateCore

/// A libmodbus context for one bus: a TCP connection or a serial line.
///
/// Confinement: the `modbus_t*` is used only by the bus thread that owns this
/// object (`BusPoller`), which is why it may be `@unchecked Sendable`: it is
/// handed to that thread once and never touched elsewhere.
///
/// This is the transport seam: TCP and RTU differ only in `init`; the cycle
/// logic never asks which one it has.
final class ModbusConnection: @unchecked Sendable {
    private let context: OpaquePointer
    let isSerial: Bool
    private(set) var isOpen = false
    /// Silent interval between frames on a serial line, in ns.
    let interFrameNs: Int64
    /// The whole of a TCP read, request to last byte of the answer, in ns.
    let transactionNs: Int64
    /// TCP: the transaction identifier of the last read (MBAP header).
    private var transactionId: UInt16 = 0
    /// TCP: the read's request and answer (260 octets, the largest Modbus TCP ADU).
    private let frame = UnsafeMutablePointer<UInt8>.allocate(capacity: 260)

    /// Fails only when libmodbus rejects the settings (e.g. unknown baud rate).
    init(link: BusConfig.Link, timeoutMs: Int) throws(ModbusError) {
        switch link {
        case .tcp(let host, let port):
            guard let context = modbus_new_tcp_pi(host, String(port)) else {
                throw ModbusError(errno: errno, operation: "create TCP context for \(host):\(port)")
            }
            self.context = context
            isSerial = false
            interFrameNs = 0
        case .rtu(let serial):
            let parity: CChar = switch serial.parity {
            case .none: CChar(UInt8(ascii: "N"))
            case .even: CChar(UInt8(ascii: "E"))
            case .odd: CChar(UInt8(ascii: "O"))
            }
            guard let context = modbus_new_rtu(serial.device, Int32(serial.baud), parity,
                                               Int32(serial.dataBits), Int32(serial.stopBits)) else {
                throw ModbusError(errno: errno, operation: "create RTU context for \(serial.device)")
            }
            self.context = context
            isSerial = true
            interFrameNs = Self.interFrameNs(baud: serial.baud)
        }
        let seconds = UInt32(timeoutMs / 1000)
        let micros = UInt32((timeoutMs % 1000) * 1000)
        modbus_set_response_timeout(context, seconds, micros)
        modbus_set_byte_timeout(context, seconds, micros)
        transactionNs = Int64(timeoutMs) * 1_000_000
    }

    deinit {
        if isOpen { modbus_close(context) }
        modbus_free(context)
        frame.deallocate()
    }

    /// Modbus over serial line V1.02 §2.5.1.1: frames are separated by at
    /// least 3.5 character times (11 bits each); above 19200 baud a fixed
    /// 1.75 ms is recommended.
    static func interFrameNs(baud: Int) -> Int64 {
        baud > 19200 ? 1_750_000 : Int64(3.5 * 11 * 1_000_000_000 / Double(baud))
    }

    /// Opens the connection or line. On failure returns the errno.
    func open() -> Int32? {
        if isOpen { return nil }
        guard modbus_connect(context) == 0 else { return errno }
        isOpen = true
        return nil
    }

    /// Switches a serial line to RS-485 mode. Returns the errno on failure
    /// (ENOTTY on UARTs and PTYs without RS-485 support).
    func enableRS485() -> Int32? {
        modbus_rtu_set_serial_mode(context, Int32(MODBUS_RTU_RS485)) == 0 ? nil : errno
    }

    func close() {
        if isOpen { modbus_close(context) }
        isOpen = false
    }

    /// Drops unread bytes, e.g. a late answer after a timeout.
    func flush() { _ = modbus_flush(context) }

    // HOT PATH: the calls below run in the sampling loop. They write straight
    // into the caller's preallocated buffers; the result is the errno or nil.

    @inline(__always)
    func read(_ table: ModbusTable, unit: Int, start: Int, count: Int,
              registers: UnsafeMutablePointer<UInt16>, bits: UnsafeMutablePointer<UInt8>) -> Int32? {
        if !isSerial { return readTCP(table, unit: unit, start: start, count: count, registers: registers, bits: bits) }
        modbus_set_slave(context, Int32(unit))
        let result: Int32 = switch table {
        case .coil: modbus_read_bits(context, Int32(start), Int32(count), bits)
        case .discreteInput: modbus_read_input_bits(context, Int32(start), Int32(count), bits)
        case .holdingRegister: modbus_read_registers(context, Int32(start), Int32(count), registers)
        case .inputRegister: modbus_read_input_registers(context, Int32(start), Int32(count), registers)
        }
        return result == Int32(count) ? nil : (result < 0 ? errno : EMSGSIZE)
    }

    /// A Modbus TCP read done here rather than by libmodbus, for two checks libmodbus leaves
    /// out: the whole transaction has one deadline (`transactionNs`; libmodbus waits up to its
    /// byte timeout for every byte, so a device trickling a byte every 0.5 s held a read for two
    /// minutes), and the answer must come from the unit asked (libmodbus checks the unit on
    /// serial lines only; through a TCP gateway, another device's registers were taken as good).
    /// Also checked: transaction and protocol identifiers, function code, byte count. An answer
    /// to an earlier request (after a timeout) is skipped. Allocates nothing.
    private func readTCP(_ table: ModbusTable, unit: Int, start: Int, count: Int,
                         registers: UnsafeMutablePointer<UInt16>, bits: UnsafeMutablePointer<UInt8>) -> Int32? {
        let fd = modbus_get_socket(context)
        guard isOpen, fd >= 0 else { return ECONNRESET }
        let function: UInt8 = switch table {
        case .coil: 0x01
        case .discreteInput: 0x02
        case .holdingRegister: 0x03
        case .inputRegister: 0x04
        }
        transactionId &+= 1
        frame[0] = UInt8(transactionId >> 8)
        frame[1] = UInt8(transactionId & 0xFF)
        frame[2] = 0; frame[3] = 0  // protocol: Modbus
        frame[4] = 0; frame[5] = 6  // length of what follows
        frame[6] = UInt8(truncatingIfNeeded: unit)
        frame[7] = function
        frame[8] = UInt8(truncatingIfNeeded: start >> 8); frame[9] = UInt8(truncatingIfNeeded: start)
        frame[10] = UInt8(truncatingIfNeeded: count >> 8); frame[11] = UInt8(truncatingIfNeeded: count)
        if let error = sendAll(fd, count: 12) { return fail(error) }
        let deadline = Clock.monotonicNs() + transactionNs
        let expected = table.isBits ? (count + 7) / 8 : count * 2
        while true {
            // No answer at all is a plain timeout (the connection stays); part of one leaves the
            // stream out of step, and the connection is closed.
            var started = false
            if let error = receive(fd, into: frame, count: 7, deadline: deadline, started: &started) {
                return started || error != ETIMEDOUT ? fail(error) : error
            }
            let length = Int(frame[4]) << 8 | Int(frame[5])
            // A frame that is not Modbus TCP: the stream cannot be trusted any further.
            guard frame[2] == 0, frame[3] == 0, (2...254).contains(length) else { return fail(ModbusErrno.base + 13) }
            if let error = receive(fd, into: frame + 7, count: length - 1, deadline: deadline, started: &started) {
                return fail(error)
            }
            let answered = UInt16(frame[0]) << 8 | UInt16(frame[1])
            if answered != transactionId { continue }
            guard frame[6] == UInt8(truncatingIfNeeded: unit) else { return ModbusErrno.base + 17 }
            if frame[7] == function | 0x80 {
                guard length >= 3, (1...11).contains(frame[8]) else { return ModbusErrno.base + 14 }
                return ModbusErrno.base + Int32(frame[8])
            }
            guard frame[7] == function, length == 3 + expected, Int(frame[8]) == expected else { return ModbusErrno.base + 13 }
            let data = frame + 9
            if table.isBits {
                for index in 0..<count { bits[index] = (data[index >> 3] >> UInt8(index & 7)) & 1 }
            } else {
                for index in 0..<count { registers[index] = UInt16(data[2 * index]) << 8 | UInt16(data[2 * index + 1]) }
            }
            return nil
        }
    }

    /// The connection is closed (and reopened by the bus loop); the error returned.
    private func fail(_ error: Int32) -> Int32 {
        close()
        return error
    }

    private func sendAll(_ fd: Int32, count: Int) -> Int32? {
        var sent = 0
        while sent < count {
            let n = send(fd, frame + sent, count - sent, Int32(MSG_NOSIGNAL))
            if n > 0 { sent += n } else if n < 0 && errno == EINTR { continue } else { return n < 0 ? errno : ECONNRESET }
        }
        return nil
    }

    /// Reads exactly `count` octets by `deadline` (monotonic ns): ETIMEDOUT past it, ECONNRESET
    /// when the peer closes.
    private func receive(_ fd: Int32, into buffer: UnsafeMutablePointer<UInt8>, count: Int, deadline: Int64,
                         started: inout Bool) -> Int32? {
        var received = 0
        while received < count {
            let left = deadline - Clock.monotonicNs()
            guard left > 0 else { return ETIMEDOUT }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(clamping: (left + 999_999) / 1_000_000))
            if ready < 0 { if errno == EINTR { continue } else { return errno } }
            if ready == 0 { return ETIMEDOUT }
            let n = recv(fd, buffer + received, count - received, 0)
            if n > 0 {
                received += n
                started = true
            } else if n < 0 && (errno == EINTR || errno == EAGAIN) {
                continue
            } else {
                return n < 0 ? errno : ECONNRESET
            }
        }
        return nil
    }

    // Writes (north requests, executed between cycles).

    /// FC5 (one coil) or FC15 (`multiple`).
    func writeCoil(unit: Int, address: Int, value: Bool, multiple: Bool) -> Int32? {
        modbus_set_slave(context, Int32(unit))
        if multiple {
            var bit: UInt8 = value ? 1 : 0
            return modbus_write_bits(context, Int32(address), 1, &bit) == 1 ? nil : errno
        }
        return modbus_write_bit(context, Int32(address), value ? 1 : 0) == 1 ? nil : errno
    }

    /// FC6 (one register) or FC16 (several, or `multiple`).
    func writeRegisters(unit: Int, address: Int, words: [UInt16], multiple: Bool) -> Int32? {
        modbus_set_slave(context, Int32(unit))
        if words.count == 1 && !multiple {
            return modbus_write_register(context, Int32(address), words[0]) == 1 ? nil : errno
        }
        let written = words.withUnsafeBufferPointer {
            modbus_write_registers(context, Int32(address), Int32($0.count), $0.baseAddress)
        }
        return written == Int32(words.count) ? nil : errno
    }
}

/// A libmodbus failure with the errno it left and what was attempted.
struct ModbusError: Error, CustomStringConvertible {
    var errno: Int32
    var operation: String

    var description: String { "\(operation): \(ModbusErrno.message(errno))" }
}

/// Classifies libmodbus errno values into tag quality.
public enum ModbusErrno {
    /// libmodbus encodes exceptions as MODBUS_ENOBASE + exception code (1…11),
    /// then its own protocol errors (bad CRC = +12 … bad slave = +17).
    static let base = Int32(MODBUS_ENOBASE)
    static let badCRC = base + 12

    /// The quality a tag gets when its read failed with `code`.
    public static func quality(_ code: Int32) -> Quality {
        switch code {
        case ETIMEDOUT: Quality(reason: .timeout)
        case base + 1...base + 11: Quality(reason: .exception, detail: UInt8(code - base))
        case badCRC: Quality(reason: .crc)
        case base + 13...base + 17, EMSGSIZE: Quality(reason: .protocolError)
        default: Quality(reason: .disconnected)
        }
    }

    /// Whether the error means the connection or line must be reopened.
    public static func needsReconnect(_ code: Int32) -> Bool {
        quality(code).reason == .disconnected
    }

    /// libmodbus's text for the errno (covers both system and Modbus codes).
    public static func message(_ code: Int32) -> String {
        String(cString: modbus_strerror(code))
    }
}
