import RailgateCore
import Console
import FoundationEssentials
import RailgateConfig

/// What `railgate run` starts with: the configuration file, or — when the file is rejected (a bad
/// edit, a release that no longer accepts it) and a last good copy is kept — that copy, so that
/// the gateway never stays down for a file; the status line and the audit trail then say so.
public struct StartingConfiguration {
    public let configuration: Configuration
    /// The text that runs when it is not the file's (the last good copy).
    public let text: String?
    /// Why the file was not used, when the last good copy runs.
    public let rejection: ConfigError?
    /// The start of the systemd status line: `running`, or that the last good configuration runs.
    public let mode: String

    /// Loads `file`; when it is rejected, the copy at `lastGood` (read with the file's folder as
    /// base for relative paths). Throws the file's errors when there is no usable copy.
    public static func load(file: String, lastGood: String?) throws(ConfigError) -> StartingConfiguration {
        do {
            return StartingConfiguration(configuration: try Configuration.load(file: file), text: nil, rejection: nil,
                                         mode: "running")
        } catch {
            guard let lastGood, let text = try? String(contentsOfFile: lastGood, encoding: .utf8),
                  let fallback = try? Configuration.load(yaml: text, baseDirectory: Path.directory(of: file))
            else { throw error }
            return StartingConfiguration(
                configuration: fallback, text: text, rejection: error,
                mode: "running the LAST GOOD configuration (\(file) rejected, see the journal)")
        }
    }

    /// After the gateway started: a file that was used becomes the last good copy; a rejected one
    /// is logged and audited with the copy that runs instead.
    public func started(on host: GatewayHost, file: String, lastGood: String?) {
        guard let lastGood else { return }
        if let rejection {
            host.logger.critical("configuration rejected; running the last configuration that started",
                                 metadata: ["file": "\(file)", "last_good": "\(lastGood)", "errors": "\(rejection.issues.count)",
                                            "first": "\(rejection.issues.first.map(\.description) ?? "")"])
            host.audit("configuration rejected", user: "railgate",
                       details: [("config", file), ("running", lastGood), ("errors", rejection.description)])
        } else if let text = try? String(contentsOfFile: file, encoding: .utf8) {
            do {
                try ConfigStore.writeAtomically(text, to: lastGood)
            } catch {
                host.logger.warning("last good configuration not kept", metadata: ["file": "\(lastGood)", "error": "\(error)"])
            }
        }
    }
}
