import CEdit
import FoundationEssentials
import Glibc
import RailgateCore

/// `railgate console`: a line editor (libedit: history, tab completion)
/// over the control socket. Plain text for an 80×24 VT100; long answers are
/// paged. Without a terminal it reads commands from standard input.
public final class ConsoleClient {
    let socketPath: String
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var prompt = "railgate> "

    public init(socketPath: String) { self.socketPath = socketPath }

    /// Runs until `exit` or end of input; returns the process exit code.
    public func run() -> Int32 {
        // A gateway that refuses us closes the socket; that is an answer, not a signal.
        signal(SIGPIPE, SIG_IGN)
        guard connect() else { return 1 }
        let interactive = isatty(0) == 1
        let tty = ttyname(0).map { String(cString: $0) } ?? "-"
        guard let hello = request(ControlRequest(line: "", tty: tty)) else { return 1 }
        if !hello.ok || hello.close == true {
            StandardStream.error(hello.text + "\n")
            return 1
        }
        prompt = hello.prompt
        if interactive { return interactiveLoop() }
        var failed = false
        while let line = readLine() {
            guard let response = send(line, interactive: false) else { return 1 }
            output(response.text, page: false)
            if !response.ok { failed = true }
            if response.close == true { break }
        }
        return failed ? 1 : 0
    }

    // MARK: Socket

    private func connect() -> Bool {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, let address = UnixSocketAddress(socketPath) else { return fail("bad socket path \(socketPath)") }
        let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        if result == 0 { return true }
        switch errno {
        case EACCES, EPERM:
            return fail("refused: \(socketPath): permission denied (the console is for root and members of the gateway's group; you are uid \(getuid()))")
        case ENOENT, ECONNREFUSED:
            return fail("no gateway listens on \(socketPath) (is railgate running, with a console: section in its configuration?)")
        default:
            return fail("\(socketPath): \(String(cString: strerror(errno)))")
        }
    }

    private func fail(_ message: String) -> Bool {
        StandardStream.error("railgate console: \(message)\n")
        return false
    }

    func request(_ request: ControlRequest) -> ControlResponse? {
        guard var data = try? JSONEncoder().encode(request) else { return nil }
        data.append(UInt8(ascii: "\n"))
        // A failed write is not the end: a gateway that refused us has already
        // sent its reason, and the read below returns it.
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffer[..<newline])
                buffer.removeSubrange(...newline)
                guard let response = try? JSONDecoder().decode(ControlResponse.self, from: line) else {
                    _ = fail("malformed answer from the gateway")
                    return nil
                }
                return response
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { _ = fail("the gateway closed the console"); return nil }
            buffer += chunk[0..<n]
        }
    }

    // MARK: Interactive

    private func interactiveLoop() -> Int32 {
        ConsoleClient.completing = self
        rg_edit_set_completion { text, start, end in
            guard let client = ConsoleClient.completing, let text else { return nil }
            let line = rg_edit_line().map { String(cString: $0) } ?? ""
            let upTo = String(line.prefix(Int(end)))
            let options = client.request(ControlRequest(complete: upTo))?.candidates ?? []
            ConsoleClient.matches = options
            rg_edit_completion_done(options.count == 1 ? 32 : 0)
            _ = start
            return rl_completion_matches(text) { _, state in
                if state == 0 { ConsoleClient.matchIndex = 0 }
                guard ConsoleClient.matchIndex < ConsoleClient.matches.count else { return nil }
                let word = ConsoleClient.matches[ConsoleClient.matchIndex]
                ConsoleClient.matchIndex += 1
                return strdup(word)
            }
        }
        print("Railgate console. help lists the commands; tab completes; exit leaves.")
        while true {
            guard let raw = readline(prompt) else {
                print("")
                return 0
            }
            let line = String(cString: raw)
            free(raw)
            let trimmed = line.trimmed()
            if trimmed.isEmpty { continue }
            add_history(trimmed)
            if trimmed.hasPrefix("monitor ") && prompt == "railgate> " {
                monitor(trimmed)
                continue
            }
            guard let response = send(trimmed, interactive: true) else { return 1 }
            prompt = response.prompt
            output(response.text, page: true)
            if response.close == true { return 0 }
        }
    }

    /// Sends a command line; when the gateway asks for an electronic signature (Part 11 mode),
    /// asks for the signer and the password (without echo on a terminal; from the next two input
    /// lines otherwise) and sends the line again with them.
    private func send(_ line: String, interactive: Bool) -> ControlResponse? {
        guard let response = request(ControlRequest(line: line)) else { return nil }
        guard response.signature == true else { return response }
        output(response.text, page: false)
        var signer: String?
        var password: String?
        if interactive {
            if let raw = readline("signer: ") {
                signer = String(cString: raw)
                free(raw)
            }
            password = getpass("password: ").map { String(cString: $0) }
        } else {
            signer = readLine()
            password = readLine()
        }
        guard let signer, let password else { return response }
        return request(ControlRequest(line: line, signer: signer, password: password))
    }

    nonisolated(unsafe) static var completing: ConsoleClient?
    nonisolated(unsafe) static var matches: [String] = []
    nonisolated(unsafe) static var matchIndex = 0

    /// Prints `text`, a screenful at a time on a terminal.
    private func output(_ text: String, page: Bool) {
        guard !text.isEmpty else { return }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let rows = page ? terminalRows() - 1 : Int.max
        var index = 0
        while index < lines.count {
            let end = min(lines.count, index + rows)
            print(lines[index..<end].joined(separator: "\n"))
            index = end
            if index < lines.count {
                print("--More-- (space: next page, q: stop)", terminator: "")
                fflush(nil)
                let key = readKey(timeoutMs: -1)
                print("\r\u{1B}[K", terminator: "")
                if key == UInt8(ascii: "q") || key == nil { break }
            }
        }
        fflush(nil)
    }

    /// `monitor tag A B…`: the values again every half second while they
    /// change, until a key is pressed.
    private func monitor(_ line: String) {
        print("monitoring; press any key to stop")
        var last = ""
        while true {
            guard let response = request(ControlRequest(line: line)) else { return }
            if !response.ok {
                output(response.text, page: false)
                return
            }
            if response.text != last {
                let time = UTCText.now()
                print("-- \(time)\n\(response.text)")
                fflush(nil)
                last = response.text
            }
            if readKey(timeoutMs: 500) != nil { return }
        }
    }

    private func terminalRows() -> Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_row > 2 { return Int(size.ws_row) }
        return 24
    }

    /// One key from the terminal without echo, or nil after `timeoutMs` (-1: wait).
    private func readKey(timeoutMs: Int32) -> UInt8? {
        var saved = termios()
        tcgetattr(0, &saved)
        var raw = saved
        raw.c_lflag &= ~(tcflag_t(ICANON) | tcflag_t(ECHO))
        tcsetattr(0, TCSANOW, &raw)
        defer { tcsetattr(0, TCSANOW, &saved) }
        var pfd = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, timeoutMs) > 0 else { return nil }
        var key: UInt8 = 0
        return read(0, &key, 1) == 1 ? key : nil
    }
}
