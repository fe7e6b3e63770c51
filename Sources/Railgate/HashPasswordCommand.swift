import ArgumentParser
import FoundationEssentials
import Glibc
import RailgateCore
import OPCUAServer

/// `railgate hash-password`: the `password_hash` of an OPC UA user, from a
/// password typed twice without echo (or one line on standard input when
/// it is not a terminal, for scripts).
struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Print the password_hash of an OPC UA user (opcua.users[].password_hash).")

    func run() throws {
        let password: String
        if isatty(STDIN_FILENO) != 0 {
            guard let first = Self.readHidden("Password: "), let second = Self.readHidden("Again: ") else {
                throw ExitCode(1)
            }
            guard first == second else {
                StandardStream.error("the two passwords differ\n")
                throw ExitCode(1)
            }
            password = first
        } else {
            password = readLine(strippingNewline: true) ?? ""
        }
        guard password.count >= 8 else {
            StandardStream.error("a password needs at least 8 characters\n")
            throw ExitCode(1)
        }
        print(try PasswordHash.make(password))
    }

    /// One line from the terminal with echo off.
    static func readHidden(_ prompt: String) -> String? {
        StandardStream.error(prompt)
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            StandardStream.error("\n")
        }
        return readLine(strippingNewline: true)
    }
}
