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
    }

    deinit {
        if isOpen { modbus_close(context) }
        modbus_free(context)
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
        modbus_set_slave(context, Int32(unit))
        let result: Int32 = switch table {
        case .coil: modbus_read_bits(context, Int32(start), Int32(count), bits)
        case .discreteInput: modbus_read_input_bits(context, Int32(start), Int32(count), bits)
        case .holdingRegister: modbus_read_registers(context, Int32(start), Int32(count), registers)
        case .inputRegister: modbus_read_input_registers(context, Int32(start), Int32(count), registers)
        }
        return result == Int32(count) ? nil : (result < 0 ? errno : EMSGSIZE)
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
