import ArgumentParser
import Console

struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "The gateway's console: live values, writes, and configuration with commit and rollback.",
        discussion: """
        Talks to a running `railgate run` over its control socket (the configuration's console.socket). \
        Usable as the login shell of a serial getty. Reads commands from standard input when it is not a terminal.
        """)

    @Option(help: "Control socket of the running gateway.")
    var socket: String = "/run/railgate/control.sock"

    func run() throws {
        let code = ConsoleClient(socketPath: socket).run()
        if code != 0 { throw ExitCode(code) }
    }
}
