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
    /// The read's request and answer (260 octets: the largest Modbus TCP ADU, and more than the
    /// largest RTU answer, 3 + 255 + 2).
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
        isSerial
            ? readRTU(table, unit: unit, start: start, count: count, registers: registers, bits: bits)
            : readTCP(table, unit: unit, start: start, count: count, registers: registers, bits: bits)
    }

    /// Reads are done here rather than by libmodbus, for two checks libmodbus leaves out: the
    /// whole transaction has one deadline (`transactionNs`; libmodbus waits up to its byte
    /// timeout for every byte, so a device trickling a byte every 0.5 s held a read for two
    /// minutes), and a TCP answer must come from the unit asked (libmodbus checks the unit on
    /// serial lines only; through a TCP gateway, another device's registers were taken as good).
    /// Also checked (`ModbusAnswer`): transaction and protocol identifiers, function code, byte
    /// count, CRC. A TCP answer to an earlier request (after a timeout) is skipped. Allocates
    /// nothing.
    private func readTCP(_ table: ModbusTable, unit: Int, start: Int, count: Int,
                         registers: UnsafeMutablePointer<UInt16>, bits: UnsafeMutablePointer<UInt8>) -> Int32? {
        let fd = modbus_get_socket(context)
        guard isOpen, fd >= 0 else { return ECONNRESET }
        transactionId &+= 1
        frame[0] = UInt8(transactionId >> 8)
        frame[1] = UInt8(transactionId & 0xFF)
        frame[2] = 0; frame[3] = 0  // protocol: Modbus
        frame[4] = 0; frame[5] = 6  // length of what follows
        ModbusAnswer.request(into: frame + 6, table, unit: unit, start: start, count: count)
        if let error = sendAll(fd, count: 12) { return fail(error) }
        let deadline = Clock.monotonicNs() + transactionNs
        while true {
            // No answer at all is a plain timeout (the connection stays); part of one leaves the
            // stream out of step, and the connection is closed.
            var started = false
            if let error = receive(fd, into: frame, count: 7, deadline: deadline, started: &started) {
                return started || error != ETIMEDOUT ? fail(error) : error
            }
            // A frame that is not Modbus TCP: the stream cannot be trusted any further.
            guard let length = ModbusAnswer.tcpLength(frame) else { return fail(ModbusAnswer.protocolError) }
            if let error = receive(fd, into: frame + 7, count: length - 1, deadline: deadline, started: &started) {
                return fail(error)
            }
            switch ModbusAnswer.checkTCP(frame, length: length, transactionId: transactionId, unit: unit,
                                         table: table, count: count, registers: registers, bits: bits) {
            case .done: return nil
            case .skip: continue
            case .failed(let error): return error
            }
        }
    }

    /// A Modbus RTU read with one deadline for the whole transaction. A line that stays silent
    /// or stops mid-answer is a timeout; an answer that does not fit is a protocol error; the
    /// bus loop then drops what the line still holds (`flush`).
    private func readRTU(_ table: ModbusTable, unit: Int, start: Int, count: Int,
                         registers: UnsafeMutablePointer<UInt16>, bits: UnsafeMutablePointer<UInt8>) -> Int32? {
        let fd = modbus_get_socket(context)
        guard isOpen, fd >= 0 else { return ECONNRESET }
        ModbusAnswer.request(into: frame, table, unit: unit, start: start, count: count)
        let crc = ModbusAnswer.crc16(frame, count: 6)
        frame[6] = UInt8(crc & 0xFF); frame[7] = UInt8(crc >> 8)
        if let error = sendAll(fd, count: 8) { return error }
        let deadline = Clock.monotonicNs() + transactionNs
        var started = false
        if let error = receive(fd, into: frame, count: 3, deadline: deadline, started: &started) { return error }
        guard let length = ModbusAnswer.rtuLength(frame, function: ModbusAnswer.function(table)) else {
            return ModbusAnswer.protocolError
        }
        if let error = receive(fd, into: frame + 3, count: length - 3, deadline: deadline, started: &started) {
            return error
        }
        switch ModbusAnswer.checkRTU(frame, length: length, unit: unit, table: table, count: count,
                                     registers: registers, bits: bits) {
        case .done: return nil
        case .skip: return ModbusAnswer.protocolError
        case .failed(let error): return error
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
            let n = isSerial ? Glibc.write(fd, frame + sent, count - sent)
                : send(fd, frame + sent, count - sent, Int32(MSG_NOSIGNAL))
            if n > 0 {
                sent += n
            } else if n < 0 && (errno == EINTR || (isSerial && errno == EAGAIN)) {
                continue  // a serial line's output buffer drains at the baud rate: 8 octets at most here
            } else {
                return n < 0 ? errno : ECONNRESET
            }
        }
        return nil
    }

    /// Reads exactly `count` octets by `deadline` (monotonic ns): ETIMEDOUT past it, ECONNRESET
    /// when the peer closes (a serial line that hangs up).
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
            let n = isSerial ? Glibc.read(fd, buffer + received, count - received)
                : recv(fd, buffer + received, count - received, 0)
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
