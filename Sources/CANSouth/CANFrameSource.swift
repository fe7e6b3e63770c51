import CSocketCAN
import Glibc
import RailgateConfig
import RailgateCore

/// Linux SocketCAN constants (linux/can.h, linux/can/raw.h).
enum SocketCAN {
    static let pfCAN: Int32 = 29
    static let canRaw: Int32 = 1
    static let solCANRaw: Int32 = 101
    static let rawFilter: Int32 = 1
    static let rawErrorFilter: Int32 = 2
    static let rawFDFrames: Int32 = 5
    static let effFlag: UInt32 = 0x8000_0000
    static let rtrFlag: UInt32 = 0x4000_0000
    static let errFlag: UInt32 = 0x2000_0000
    static let effMask: UInt32 = 0x1FFF_FFFF
    static let sffMask: UInt32 = 0x0000_07FF
    /// struct can_frame and struct canfd_frame sizes.
    static let frameSize = 16
    static let fdFrameSize = 72
    /// CAN_STATE_BUS_OFF in libsocketcan's can_get_state.
    static let stateBusOff: Int32 = 4
}

/// Where a CAN bus thread reads `struct can_frame` / `canfd_frame` records:
/// a raw SocketCAN socket, or a local SOCK_SEQPACKET socket (simulators and
/// tests, which this build machine's kernel needs: it has no AF_CAN). Both
/// are file descriptors delivering one frame per read.
public final class CANFrameSource {
    public let fd: Int32
    public let description: String

    private init(fd: Int32, description: String) {
        self.fd = fd
        self.description = description
    }

    deinit { close(fd) }

    /// Opens the bus's source; the error names the interface or path and the
    /// system's reason.
    public static func open(_ bus: CANBusConfig, ids: [(id: UInt32, extended: Bool)]) throws(CANError) -> CANFrameSource {
        switch bus.source {
        case .interface(let name): return try raw(interface: name, fd: bus.fd, ids: ids)
        case .seqpacket(let path): return try seqpacket(path: path)
        }
    }

    static func raw(interface name: String, fd allowFD: Bool, ids: [(id: UInt32, extended: Bool)]) throws(CANError) -> CANFrameSource {
        let fd = socket(SocketCAN.pfCAN, Int32(SOCK_RAW.rawValue), SocketCAN.canRaw)
        guard fd >= 0 else {
            let code = errno
            throw CANError(interface: name, code == EAFNOSUPPORT
                ? "SocketCAN is not available in this kernel (socket(PF_CAN): \(String(cString: strerror(code))))"
                : "socket(PF_CAN): \(String(cString: strerror(code)))")
        }
        let index = if_nametoindex(name)
        guard index != 0 else {
            close(fd)
            throw CANError(interface: name, "no such network interface")
        }
        // Kernel filters: only the configured ids (and error frames) reach us.
        var filters = ids.map { entry -> (UInt32, UInt32) in
            entry.extended ? (entry.id | SocketCAN.effFlag, SocketCAN.effMask | SocketCAN.effFlag | SocketCAN.rtrFlag)
                : (entry.id, SocketCAN.sffMask | SocketCAN.effFlag | SocketCAN.rtrFlag)
        }
        if !filters.isEmpty {
            let rc = filters.withUnsafeMutableBytes {
                setsockopt(fd, SocketCAN.solCANRaw, SocketCAN.rawFilter, $0.baseAddress, socklen_t($0.count))
            }
            guard rc == 0 else {
                close(fd)
                throw CANError(interface: name, "CAN_RAW_FILTER: \(String(cString: strerror(errno)))")
            }
        }
        var errorMask: UInt32 = 0x1FFF_FFFF  // every error class
        setsockopt(fd, SocketCAN.solCANRaw, SocketCAN.rawErrorFilter, &errorMask, socklen_t(MemoryLayout<UInt32>.size))
        if allowFD {
            var on: Int32 = 1
            guard setsockopt(fd, SocketCAN.solCANRaw, SocketCAN.rawFDFrames, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                close(fd)
                throw CANError(interface: name, "the interface does not do CAN FD: \(String(cString: strerror(errno)))")
            }
        }
        // struct sockaddr_can: family, ifindex, then the address union.
        var address = [UInt8](repeating: 0, count: 24)
        address.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt16(SocketCAN.pfCAN), toByteOffset: 0, as: UInt16.self)
            raw.storeBytes(of: Int32(bitPattern: index), toByteOffset: 4, as: Int32.self)
        }
        let rc = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw CANError(interface: name, "bind: \(reason)")
        }
        return CANFrameSource(fd: fd, description: name)
    }

    static func seqpacket(path: String) throws(CANError) -> CANFrameSource {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0)
        guard fd >= 0 else { throw CANError(interface: "seqpacket:\(path)", "socket: \(String(cString: strerror(errno)))") }
        let rc = UnixSocketAddress(path).map { address in
            address.withSockaddr { connect(fd, $0, $1) }
        } ?? -1
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw CANError(interface: "seqpacket:\(path)", "connect: \(reason)")
        }
        return CANFrameSource(fd: fd, description: "seqpacket:\(path)")
    }

    /// Reads one frame record into `buffer` (at least 72 bytes) within
    /// `timeoutMs`: its length, 0 on timeout, -1 when the source failed or closed.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer, timeoutMs: Int32) -> Int {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, timeoutMs)
        if ready == 0 { return 0 }
        if ready < 0 { return errno == EINTR ? 0 : -1 }
        let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
        if n < 0 { return errno == EINTR || errno == EAGAIN ? 0 : -1 }
        return n == 0 ? -1 : n
    }

    /// Sends one frame record.
    public func write(_ record: UnsafeRawBufferPointer) -> Bool {
        Glibc.write(fd, record.baseAddress, record.count) == record.count
    }
}

/// A CAN interface problem, naming the interface.
public struct CANError: Error, Sendable, CustomStringConvertible {
    public var interface: String
    public var reason: String
    public init(interface: String, _ reason: String) {
        self.interface = interface
        self.reason = reason
    }
    public var description: String { "CAN interface \(interface): \(reason)" }
}

/// Interface control through libsocketcan: bitrate, restart-ms, bus-off recovery.
public enum CANInterfaceControl {
    /// Sets the bitrate and restart-ms (stopping and starting the interface),
    /// as the configuration asks.
    public static func configure(_ name: String, bitrate: Int?, restartMs: Int?) throws(CANError) {
        guard bitrate != nil || restartMs != nil else { return }
        guard if_nametoindex(name) != 0 else { throw CANError(interface: name, "no such network interface") }
        guard can_do_stop(name) == 0 else { throw CANError(interface: name, "cannot stop the interface to configure it (needs CAP_NET_ADMIN)") }
        if let bitrate, can_set_bitrate(name, UInt32(bitrate)) != 0 {
            _ = can_do_start(name)
            throw CANError(interface: name, "cannot set bitrate \(bitrate)")
        }
        if let restartMs, can_set_restart_ms(name, UInt32(restartMs)) != 0 {
            _ = can_do_start(name)
            throw CANError(interface: name, "cannot set restart-ms \(restartMs)")
        }
        guard can_do_start(name) == 0 else { throw CANError(interface: name, "cannot start the interface") }
    }

    /// The controller state (libsocketcan's CAN_STATE_…), nil when unreadable.
    public static func state(_ name: String) -> Int32? {
        var state: Int32 = 0
        return can_get_state(name, &state) == 0 ? state : nil
    }

    /// The interface's bitrate, nil when unreadable (virtual interfaces have none).
    public static func bitrate(_ name: String) -> Int? {
        var timing = can_bittiming()
        guard can_get_bittiming(name, &timing) == 0, timing.bitrate > 0 else { return nil }
        return Int(timing.bitrate)
    }

    /// Restarts a controller that went bus-off.
    public static func restart(_ name: String) -> Bool { can_do_restart(name) == 0 }
}
