import CRailgatePlatform
import Glibc
import RailgateConfig

/// A serial port set up for PROFIBUS: raw, 8 data bits, even parity, 1 stop
/// bit, any baud rate (termios2 for the non-standard ones), optional RS-485
/// mode. Reads wait with `poll` until a monotonic deadline. Allocates nothing
/// after `init`.
final class SerialLine {
    struct OpenError: Error, CustomStringConvertible {
        var errno: Int32
        var step: String
        var description: String { "\(step): \(String(cString: strerror(errno)))" }
    }

    let fd: Int32
    /// Warnings from opening (parity or RS-485 not available), for the log.
    private(set) var warnings: [String] = []

    init(_ config: SerialConfig) throws(OpenError) {
        let fd = open(config.device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw OpenError(errno: errno, step: "open \(config.device)") }
        self.fd = fd
        var tio = termios()
        guard tcgetattr(fd, &tio) == 0 else {
            let code = errno
            close(fd)
            throw OpenError(errno: code, step: "tcgetattr \(config.device)")
        }
        cfmakeraw(&tio)
        tio.c_cflag &= ~(tcflag_t(CSIZE) | tcflag_t(CSTOPB) | tcflag_t(PARODD) | tcflag_t(CRTSCTS))
        tio.c_cflag |= tcflag_t(CS8) | tcflag_t(CLOCAL) | tcflag_t(CREAD) | tcflag_t(PARENB)
        tio.c_iflag &= ~(tcflag_t(IXON) | tcflag_t(IXOFF) | tcflag_t(IXANY))
        // VMIN = VTIME = 0: reads return what is there; `poll` does the waiting.
        withUnsafeMutablePointer(to: &tio.c_cc) {
            $0.withMemoryRebound(to: cc_t.self, capacity: Int(NCCS)) { cc in
                cc[Int(VMIN)] = 0
                cc[Int(VTIME)] = 0
            }
        }
        if tcsetattr(fd, TCSANOW, &tio) != 0 {
            // Pseudo-terminals refuse PARENB; a real UART does not.
            let code = errno
            tio.c_cflag &= ~tcflag_t(PARENB)
            guard code == EINVAL, tcsetattr(fd, TCSANOW, &tio) == 0 else {
                let failure = errno
                close(fd)
                throw OpenError(errno: failure, step: "tcsetattr \(config.device)")
            }
            warnings.append("\(config.device) does not take even parity (a pseudo-terminal?); running 8N1")
        }
        let code = rg_serial_set_baud(fd, Int32(config.baud))
        if code != 0 {
            warnings.append("\(config.device): baud rate \(config.baud) not set: \(String(cString: strerror(code)))")
        }
        if config.rs485 {
            let code = rg_serial_set_rs485(fd, 1)
            if code != 0 {
                warnings.append("\(config.device): RS-485 mode not available (\(String(cString: strerror(code)))); relying on the adapter's own direction control")
            }
        }
        tcflush(fd, TCIOFLUSH)
    }

    deinit { close(fd) }

    /// Writes all octets; returns 0 or an errno value.
    func write(_ bytes: UnsafePointer<UInt8>, count: Int) -> Int32 {
        var done = 0
        while done < count {
            let n = Glibc.write(fd, bytes + done, count - done)
            if n > 0 {
                done += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, 100)
            } else {
                return n < 0 ? errno : EIO
            }
        }
        return 0
    }

    /// Reads what is available, waiting until `deadlineNs` (monotonic) for
    /// the first octet. Returns the count (0 at the deadline) or -errno.
    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int, deadlineNs: Int64) -> Int {
        while true {
            let n = Glibc.read(fd, buffer, capacity)
            if n > 0 { return n }
            // With VMIN = VTIME = 0 an empty line reads as 0 octets (or EAGAIN).
            if n < 0 && errno != EAGAIN && errno != EINTR { return -Int(errno) }
            let remaining = deadlineNs - rg_monotonic_ns()
            if remaining <= 0 { return 0 }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(min(Int64(Int32.max), (remaining + 999_999) / 1_000_000))
            let ready = poll(&pfd, 1, ms)
            if ready < 0 && errno != EINTR { return -Int(errno) }
            if ready > 0 && pfd.revents & Int16(POLLHUP | POLLERR) != 0 && pfd.revents & Int16(POLLIN) == 0 {
                return -Int(EIO)
            }
        }
    }

    /// Drops octets received but not read.
    func discardInput() { tcflush(fd, TCIFLUSH) }
}
