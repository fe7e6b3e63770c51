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
    /// TCP: the transaction identifier of the last request (MBAP header).
    private var transactionId: UInt16 = 0
    /// A transaction's request and answer (260 octets: the largest Modbus TCP ADU, and more than
    /// the largest RTU frame, 3 + 255 + 2).
    private let frame = UnsafeMutablePointer<UInt8>.allocate(capacity: 260)
    /// Where a write's answer check may put values (it puts none).
    private let scratchRegisters = UnsafeMutablePointer<UInt16>.allocate(capacity: 1)
    private let scratchBits = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

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
        scratchRegisters.deallocate()
        scratchBits.deallocate()
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
        ModbusAnswer.readRequest(into: frame + pduOffset, table, start: start, count: count)
        return exchange(unit: unit, pduLength: 5, expected: .read(table, count: count), registers: registers, bits: bits)
    }

    /// Where a request's PDU (function code onwards) goes in `frame`: after the unit id, and on
    /// TCP after the MBAP header.
    private var pduOffset: Int { isSerial ? 1 : 7 }

    /// Sends the request whose PDU (`pduLength` octets) is at `frame + pduOffset` to `unit` and
    /// takes its answer.
    ///
    /// Requests and answers are framed here rather than by libmodbus, for two checks libmodbus
    /// leaves out: the whole transaction has one deadline (`transactionNs`; libmodbus waits up to
    /// its byte timeout for every byte, so a device trickling a byte every 0.5 s held a read for
    /// two minutes), and a TCP answer must come from the unit asked (libmodbus checks the unit on
    /// serial lines only; through a TCP gateway, another device's registers were taken as good).
    /// Also checked (`ModbusAnswer`): transaction and protocol identifiers, function code, byte
    /// count, a write's echo, CRC. Allocates nothing.
    private func exchange(unit: Int, pduLength: Int, expected: ModbusAnswer.Expected,
                          registers: UnsafeMutablePointer<UInt16>, bits: UnsafeMutablePointer<UInt8>) -> Int32? {
        let fd = modbus_get_socket(context)
        guard isOpen, fd >= 0 else { return ECONNRESET }
        return isSerial
            ? exchangeRTU(fd, unit: unit, pduLength: pduLength, expected: expected, registers: registers, bits: bits)
            : exchangeTCP(fd, unit: unit, pduLength: pduLength, expected: expected, registers: registers, bits: bits)
    }

    /// Modbus TCP. No answer at all is a plain timeout (the connection stays); part of one leaves
    /// the stream out of step, and the connection is closed. An answer to an earlier request
    /// (after a timeout) is skipped.
    private func exchangeTCP(_ fd: Int32, unit: Int, pduLength: Int, expected: ModbusAnswer.Expected,
                             registers: UnsafeMutablePointer<UInt16>, bits: UnsafeMutablePointer<UInt8>) -> Int32? {
        transactionId &+= 1
        ModbusAnswer.put(transactionId, at: frame)
        ModbusAnswer.put(0, at: frame + 2)  // protocol: Modbus
        ModbusAnswer.put(UInt16(pduLength + 1), at: frame + 4)  // length of what follows
        frame[6] = UInt8(truncatingIfNeeded: unit)
        if let error = sendAll(fd, count: 7 + pduLength) { return fail(error) }
        let deadline = Clock.monotonicNs() + transactionNs
        while true {
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
                                         expected: expected, registers: registers, bits: bits) {
            case .done: return nil
            case .skip: continue
            case .failed(let error): return error
            }
        }
    }

    /// Modbus RTU. A line that stays silent or stops mid-answer is a timeout; an answer that does
    /// not fit is a protocol error; the bus loop then drops what the line still holds (`flush`).
    private func exchangeRTU(_ fd: Int32, unit: Int, pduLength: Int, expected: ModbusAnswer.Expected,
                             registers: UnsafeMutablePointer<UInt16>, bits: UnsafeMutablePointer<UInt8>) -> Int32? {
        frame[0] = UInt8(truncatingIfNeeded: unit)
        let crc = ModbusAnswer.crc16(frame, count: 1 + pduLength)
        frame[1 + pduLength] = UInt8(crc & 0xFF); frame[2 + pduLength] = UInt8(crc >> 8)
        // A late answer to an earlier request (RTU has no transaction id) would pass for this one's.
        tcflush(fd, TCIFLUSH)
        if let error = sendAll(fd, count: 3 + pduLength) { return error }
        let deadline = Clock.monotonicNs() + transactionNs
        var started = false
        if let error = receive(fd, into: frame, count: 3, deadline: deadline, started: &started) { return error }
        guard let length = ModbusAnswer.rtuLength(frame, expected: expected) else { return ModbusAnswer.protocolError }
        if let error = receive(fd, into: frame + 3, count: length - 3, deadline: deadline, started: &started) {
            return error
        }
        switch ModbusAnswer.checkRTU(frame, length: length, unit: unit, expected: expected, registers: registers, bits: bits) {
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

    // Writes (north requests, executed between cycles), framed and checked like reads.

    /// FC5 (one coil) or FC15 (`multiple`).
    func writeCoil(unit: Int, address: Int, value: Bool, multiple: Bool) -> Int32? {
        let pdu = frame + pduOffset
        let at = UInt16(truncatingIfNeeded: address)
        ModbusAnswer.put(at, at: pdu + 1)
        if multiple {
            pdu[0] = 0x0F
            ModbusAnswer.put(1, at: pdu + 3)
            pdu[5] = 1
            pdu[6] = value ? 1 : 0
            return write(unit: unit, pduLength: 7, .write(function: 0x0F, address: at, value: 1))
        }
        pdu[0] = 0x05
        let word: UInt16 = value ? 0xFF00 : 0x0000
        ModbusAnswer.put(word, at: pdu + 3)
        return write(unit: unit, pduLength: 5, .write(function: 0x05, address: at, value: word))
    }

    /// FC6 (one register) or FC16 (several, or `multiple`): at most 123 registers.
    func writeRegisters(unit: Int, address: Int, words: [UInt16], multiple: Bool) -> Int32? {
        guard (1...123).contains(words.count) else { return EMSGSIZE }
        let pdu = frame + pduOffset
        let at = UInt16(truncatingIfNeeded: address)
        ModbusAnswer.put(at, at: pdu + 1)
        if words.count == 1 && !multiple {
            pdu[0] = 0x06
            ModbusAnswer.put(words[0], at: pdu + 3)
            return write(unit: unit, pduLength: 5, .write(function: 0x06, address: at, value: words[0]))
        }
        pdu[0] = 0x10
        ModbusAnswer.put(UInt16(words.count), at: pdu + 3)
        pdu[5] = UInt8(2 * words.count)
        for (index, word) in words.enumerated() { ModbusAnswer.put(word, at: pdu + 6 + 2 * index) }
        return write(unit: unit, pduLength: 6 + 2 * words.count,
                     .write(function: 0x10, address: at, value: UInt16(words.count)))
    }

    private func write(unit: Int, pduLength: Int, _ expected: ModbusAnswer.Expected) -> Int32? {
        exchange(unit: unit, pduLength: pduLength, expected: expected, registers: scratchRegisters, bits: scratchBits)
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
