import ArgumentParser
import Console
import FoundationEssentials
import Glibc
import Logging
import RailgateAudit
import RailgateConfig
import RailgateCore
import RailgateRuntime

@main
struct RailgateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "railgate",
        abstract: "Edge protocol gateway: Modbus devices to named tags to MQTT.",
        version: RailgateVersion.string,
        subcommands: [Run.self, Check.self, ConsoleCommand.self, Audit.self, JournalCommand.self, HashPassword.self, Demo.self, Version.self])
}

/// Options every command that reads a configuration shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Configuration file (YAML).")
    var config: String = "/etc/railgate/railgate.yaml"

    /// Loads the file or prints every problem and exits with code 2.
    func load() throws -> Configuration {
        do {
            return try Configuration.load(file: config)
        } catch {
            StandardStream.error("\(error)\n")
            let count = error.issues.count
            StandardStream.error("\(config): \(count) error\(count == 1 ? "" : "s"); configuration not accepted\n")
            throw ExitCode(2)
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway until SIGTERM or SIGINT.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: .hidden)
    var debugStallAfter: Double?

    @Option(help: "Keep a copy of each configuration that started here; when the configuration file is rejected, run that copy instead (and say so).")
    var lastGood: String?

    func run() throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level \"\(logLevel)\"")
        }
        let logs = LogRing()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return MultiplexLogHandler([handler, logs.handler(label: label, level: level)])
        }
        let start: StartingConfiguration
        do {
            start = try StartingConfiguration.load(file: options.config, lastGood: lastGood)
        } catch {
            StandardStream.error("\(error)\n\(options.config): configuration not accepted\n")
            throw ExitCode(2)
        }
        if let rejection = start.rejection {
            // The file's errors go to the journal too; the last good copy runs.
            StandardStream.error("\(rejection)\n\(options.config): configuration not accepted\n")
        }
        let configuration = start.configuration
        // A peer that closes a socket before reading (a console client, a TCP device, a broker)
        // is an error on that write, never the end of the process.
        signal(SIGPIPE, SIG_IGN)
        // Block the stop signals in every thread; the main thread waits for them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let host = try GatewayHost(configuration: configuration, path: options.config, text: start.text, logs: logs)
        try host.start()
        start.started(on: host, file: options.config, lastGood: lastGood)
        var console: ControlServer?
        if let settings = configuration.console {
            let server = ControlServer(config: settings, control: host, logger: Logger(label: "railgate.console"))
            do {
                try server.start()
                console = server
            } catch {
                host.logger.error("console unavailable; the gateway runs on", metadata: ["error": "\(error)"])
            }
        }
        let notifier = SystemdNotifier()
        let mode = start.mode
        let watchdog = ServiceWatchdog(notifier: notifier, host: host, mode: mode)
        notifier.notify("READY=1\nSTATUS=\(mode): \(host.current.statusSummary())")
        watchdog.start()
        if let interval = notifier.watchdogIntervalNs {
            host.logger.info("systemd watchdog fed from the sampling core", metadata: ["interval_ms": "\(interval / 1_000_000)"])
            host.warnAboutLongTimeouts(watchdogNs: interval)
        }
        if let seconds = debugStallAfter {
            // Test switch: the engine stops coming round, as a stuck sampling core would.
            host.current.engine.stall(atMonotonicNs: RailgateCore.Clock.monotonicNs() + Int64(seconds * 1e9))
        }
        var received: Int32 = 0
        sigwait(&signals, &received)
        host.logger.notice("stopping", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
        notifier.notify("STOPPING=1")
        watchdog.finish()
        console?.stop()
        host.stop()
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration and print its read plan. Exit code 2 on errors.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let configuration = try options.load()
        print(CheckReport.text(configuration))
    }
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the demo configuration (a starting point for your own).")

    func run() throws {
        print(DemoConfiguration.yaml, terminator: "")
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() throws {
        print("railgate \(RailgateVersion.string)")
    }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with the hash-chained audit trail.",
        subcommands: [Verify.self, Export.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a human-readable copy of the audit trail (CSV), after checking its whole chain.")

        @Option(name: .shortAndLong, help: "Audit trail file (gateway.audit_file).")
        var file: String = "/var/lib/railgate/audit.log"

        @Option(help: "Output format: csv.")
        var format: String = "csv"

        func run() throws {
            guard format == "csv" else {
                StandardStream.error("railgate audit export: unknown format \"\(format)\" (csv)\n")
                throw ExitCode(2)
            }
            do {
                StandardStream.out(try AuditTrail.exportCSV(path: file))
            } catch {
                StandardStream.error("\(error); no copy written\n")
                throw ExitCode(1)
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every entry of an audit trail. Exit code 1 names the first altered or missing entry.")

        @Option(name: .shortAndLong, help: "Audit trail file (gateway.audit_file).")
        var file: String = "/var/lib/railgate/audit.log"

        func run() throws {
            do {
                let report = try AuditTrail.verify(path: file)
                print("\(file): \(report.entries) entries, chain intact (last hash \(report.lastHash))")
            } catch {
                StandardStream.error("\(error)\n")
                throw ExitCode(1)
            }
        }
    }
}
