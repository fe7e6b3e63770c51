import CRailgatePlatform
import FoundationEssentials
import Glibc
import Logging
import RailgateConfig
import RailgateCore

/// The request/response protocol of the control socket: one JSON object
/// per line each way.
public struct ControlRequest: Codable, Sendable {
    /// A command line to run.
    public var line: String?
    /// A partial line to complete (tab).
    public var complete: String?
    /// The client's terminal, for the audit trail (first request only).
    public var tty: String?
    /// An electronic signature for the line (Part 11 mode): the signer's name and password.
    public var signer: String?
    public var password: String?

    public init(line: String? = nil, complete: String? = nil, tty: String? = nil, signer: String? = nil,
                password: String? = nil) {
        self.line = line
        self.complete = complete
        self.tty = tty
        self.signer = signer
        self.password = password
    }
}

public struct ControlResponse: Codable, Sendable {
    public var ok: Bool
    public var text: String
    public var prompt: String
    public var candidates: [String]?
    /// The server ends the session after this response.
    public var close: Bool?
    /// The line needs an electronic signature: send it again with `signer` and `password`.
    public var signature: Bool?
}

/// Listens on the Unix control socket (mode 0660, group from the
/// configuration) and runs one `ConsoleSession` per connection on its own
/// thread. The peer's uid comes from SO_PEERCRED: root, the gateway's own
/// user and members of the group are served; anyone else is refused and the
/// refusal is audited.
public final class ControlServer: @unchecked Sendable {
    let config: ConsoleConfig
    let control: any GatewayControl
    public let store: ConfigStore
    let logger: Logger
    private var listener: Int32 = -1
    private let stopping = Lock()
    private var stopped = false
    private var sessions = 0

    /// Connections served at once; one more is answered with a refusal and closed.
    public static let maxSessions = 16
    /// The longest request line: a longer one ends its connection with an error.
    public static let maxRequestBytes = 64 << 10
    /// How long an answer may wait for a client that does not read it.
    static let sendTimeoutSeconds = 10

    public init(config: ConsoleConfig, control: any GatewayControl, logger: Logger) {
        self.config = config
        self.control = control
        self.logger = logger
        store = ConfigStore(control: control, directory: config.historyDirectory, keep: config.history)
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    public func start() throws(StartError) {
        let path = config.socket
        let directory = Path.directory(of: path)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "control socket: \(String(cString: strerror(errno)))") }
        guard let address = UnixSocketAddress(path) else {
            close(fd)
            throw StartError(description: "control socket path is too long: \(path)")
        }
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        guard bound == 0, listen(fd, 64) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw StartError(description: "control socket \(path): \(message)")
        }
        // rw for the owner and the group, nothing for others.
        chmod(path, 0o660)
        if let group = getgrnam(config.group) {
            // Under systemd (User=railgate) the socket is born with the right group, and the unit's
            // SystemCallFilter refuses chown: change the group only when it differs.
            var info = stat()
            let born = stat(path, &info) == 0 && info.st_gid == group.pointee.gr_gid
            if !born && chown(path, getuid(), group.pointee.gr_gid) != 0 {
                logger.warning("control socket group not set", metadata: ["group": "\(config.group)", "error": "\(String(cString: strerror(errno)))"])
            }
        } else {
            logger.warning("control socket: no group \(config.group); only root and the gateway's user can connect",
                           metadata: ["socket": "\(path)"])
        }
        listener = fd
        OSThread.start(name: "rg-console") { [self] in
            acceptLoop(fd)
        }
        logger.info("control socket ready", metadata: ["socket": "\(path)", "group": "\(config.group)"])
    }

    public func stop() {
        stopping.lock()
        stopped = true
        stopping.unlock()
        if listener >= 0 {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
            listener = -1
        }
        unlink(config.socket)
    }

    private var isStopped: Bool {
        stopping.lock()
        defer { stopping.unlock() }
        return stopped
    }

    private func acceptLoop(_ fd: Int32) {
        while !isStopped {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 500) > 0 else { continue }
            let client = accept(fd, nil, nil)
            if client < 0 { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            var timeout = timeval(tv_sec: Self.sendTimeoutSeconds, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard admit() else {
                send(ControlResponse(ok: false, text: "refused: \(Self.maxSessions) console sessions are open; try again later",
                                     prompt: "", candidates: nil, close: true), to: client)
                close(client)
                logger.warning("console connection refused: too many sessions", metadata: ["limit": "\(Self.maxSessions)"])
                continue
            }
            let started = OSThread.start(name: "rg-console-s") { [self] in
                defer { leave() }
                serve(client)
            }
            if !started {
                close(client)
                leave()
                logger.warning("console connection closed: no thread for it")
            }
        }
    }

    /// Counts a new session in, or says there is no room for it.
    private func admit() -> Bool {
        stopping.lock()
        defer { stopping.unlock() }
        guard sessions < Self.maxSessions else { return false }
        sessions += 1
        return true
    }

    private func leave() {
        stopping.lock()
        sessions -= 1
        stopping.unlock()
    }

    /// The peer's identity, or nil when it may not use the console.
    private func authorize(_ fd: Int32) -> (user: String, uid: UInt32, pid: Int32)? {
        var uid: UInt32 = 0, gid: UInt32 = 0, pid: Int32 = 0
        guard rg_peer_credentials(fd, &uid, &gid, &pid) == 0 else { return nil }
        let name = getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(uid)"
        let group = getgrnam(config.group).map { $0.pointee.gr_gid }
        let allowed = uid == 0 || uid == getuid() || (group.map { rg_user_in_group(uid, $0) == 1 } ?? false)
        guard allowed else {
            control.audit("console refused", user: "\(name) (uid \(uid))",
                          details: [("pid", "\(pid)"), ("reason", "not in group \(config.group)")])
            let response = ControlResponse(ok: false, text: "refused: \(name) (uid \(uid)) is not in group \(config.group)",
                                           prompt: "", candidates: nil, close: true)
            send(response, to: fd)
            return nil
        }
        return ("\(name) (uid \(uid))", uid, pid)
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        guard let peer = authorize(fd) else { return }
        let conversation = ControlConversation(session: ConsoleSession(control: control, store: store, user: peer.user),
                                               control: control, pid: peer.pid)
        var buffer: [UInt8] = []
        // Bytes of `buffer` already known to hold no newline: each byte is looked at once.
        var scanned = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        reading: while !isStopped {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            buffer += chunk[0..<n]
            while let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[..<newline]
                let response = conversation.answer(line)
                buffer.removeSubrange(...newline)
                scanned = 0
                guard let response else { continue }
                send(response, to: fd)
                if response.close == true { break reading }
            }
            scanned = buffer.count
            if buffer.count > Self.maxRequestBytes {
                send(ControlResponse(ok: false, text: "error: request longer than \(Self.maxRequestBytes) bytes; connection closed",
                                     prompt: "", candidates: nil, close: true), to: fd)
                logger.warning("console request too long; connection closed", metadata: ["user": "\(conversation.session.user)"])
                break
            }
        }
        conversation.end()
    }

    private func send(_ response: ControlResponse, to fd: Int32) {
        guard var data = try? JSONEncoder().encode(response) else { return }
        data.append(UInt8(ascii: "\n"))
        // All of it, or nothing more once the peer is gone or stops reading (SO_SNDTIMEO):
        // MSG_NOSIGNAL, a closed peer is an error here, never a SIGPIPE.
        _ = data.withUnsafeBytes { bytes in
            writeAll(bytes) { Glibc.send(fd, $0, $1, Int32(MSG_NOSIGNAL)) }
        }
    }
}

/// One control-socket connection's requests and answers, apart from its socket (fuzzed by
/// scripts/fuzz, harness `control`): one JSON request line in, the response to send (if any).
/// Logs in at the first well-formed request (audited), logs out at `end`.
final class ControlConversation {
    let session: ConsoleSession
    private let control: any GatewayControl
    private let pid: Int32
    private var loggedIn = false
    private let decoder = JSONDecoder()

    init(session: ConsoleSession, control: any GatewayControl, pid: Int32) {
        self.session = session
        self.control = control
        self.pid = pid
    }

    /// The answer to one request line (without its newline); nil for a request that asks nothing.
    func answer(_ line: ArraySlice<UInt8>) -> ControlResponse? {
        guard let request = try? decoder.decode(ControlRequest.self, from: Data(line)) else {
            return ControlResponse(ok: false, text: "error: malformed request", prompt: session.prompt)
        }
        if !loggedIn {
            loggedIn = true
            control.audit("console login", user: session.user, details: [("pid", "\(pid)"), ("tty", request.tty ?? "?")])
        }
        if let partial = request.complete {
            return ControlResponse(ok: true, text: "", prompt: session.prompt, candidates: session.complete(partial))
        }
        guard let text = request.line else { return nil }
        let signature = request.signer.map { Signature(signer: $0, password: request.password ?? "") }
        let reply = session.execute(text, signature: signature)
        return ControlResponse(ok: reply.ok, text: reply.text, prompt: session.prompt, candidates: nil,
                               close: reply.close ? true : nil, signature: reply.needsSignature ? true : nil)
    }

    func end() {
        if loggedIn { control.audit("console logout", user: session.user, details: [("pid", "\(pid)")]) }
    }
}
