import ArgumentParser
import Foundation
import Glibc
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
                FileHandle.standardError.write(Data("the two passwords differ\n".utf8))
                throw ExitCode(1)
            }
            password = first
        } else {
            password = readLine(strippingNewline: true) ?? ""
        }
        guard password.count >= 8 else {
            FileHandle.standardError.write(Data("a password needs at least 8 characters\n".utf8))
            throw ExitCode(1)
        }
        print(try PasswordHash.make(password))
    }

    /// One line from the terminal with echo off.
    static func readHidden(_ prompt: String) -> String? {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine(strippingNewline: true)
    }
}
