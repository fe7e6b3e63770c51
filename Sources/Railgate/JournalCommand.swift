import ArgumentParser
import FoundationEssentials
import MQTTNorth
import RailgateConfig
import RailgateCore

/// `railgate journal status|list`: what the store-and-forward journal holds,
/// read without changing it (safe while the gateway runs).
struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Show what the MQTT store-and-forward journal holds (read only; safe while the gateway runs).",
        subcommands: [Status.self, List.self])

    struct Options: ParsableArguments {
        @OptionGroup var config: ConfigOptions

        @Option(help: "Journal directory (default: the configuration's mqtt.journal.dir).")
        var dir: String?

        func read() throws -> (JournalContents, String, Configuration?) {
            var configuration: Configuration?
            if dir == nil || FileManager.default.fileExists(atPath: config.config) {
                configuration = try config.load()
            }
            guard let directory = dir ?? configuration?.mqtt?.journal?.directory else {
                StandardStream.error("\(config.config): no mqtt.journal configured (or pass --dir)\n")
                throw ExitCode(2)
            }
            do {
                let contents = try JournalContents.read(directory: directory)
                for place in contents.damage {
                    StandardStream.error("damaged: \(place)\n")
                }
                return (contents, directory, configuration)
            } catch {
                StandardStream.error("\(error)\n")
                throw ExitCode(1)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Segments, records kept and records waiting for the broker.")

        @OptionGroup var options: Options

        func run() throws {
            let (contents, directory, _) = try options.read()
            print("journal \(directory): \(contents.pending.count) records pending, \(contents.delivered) delivered and kept, "
                + "\(contents.segments.count) segment\(contents.segments.count == 1 ? "" : "s"), \(contents.totalBytes) bytes"
                + (contents.damage.isEmpty ? "" : ", \(contents.damage.count) damaged places"))
            if let first = contents.pending.first, let last = contents.pending.last {
                print("pending from \(Self.utc(first.timestamp)) to \(Self.utc(last.timestamp))")
            }
        }

        static func utc(_ ns: Int64) -> String {
            UTCText.iso8601(ns: ns)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per record: the tag path and the JSON document that is (or was) published for it.",
            discussion: """
            Values are typed from the configuration's tags; a record of a tag the configuration no longer has \
            shows its raw 64-bit value as "bits".
            """)

        @OptionGroup var options: Options

        @Flag(help: "Also the records the broker already acknowledged.")
        var all = false

        func run() throws {
            let (contents, _, configuration) = try options.read()
            var tags: [String: Tag] = [:]
            for tag in configuration?.tags() ?? [] { tags[tag.path] = tag }
            var out = ""
            for (index, record) in contents.records.enumerated() where all || index >= contents.delivered {
                out += record.path
                out += " "
                let sample = Sample(tag: 0, quality: record.quality, timestamp: record.timestamp, value: record.value)
                if let tag = tags[record.path] {
                    out += JSONPayload.encode(tag: tag, sample: sample, text: record.text)
                } else {
                    out += "{\"ts\":\(record.timestamp / 1_000_000),\"bits\":\"\(String(record.value.bits, radix: 16))\","
                        + "\"quality\":\"\(record.quality.level)\"}"
                }
                if all { out += index < contents.delivered ? " delivered" : " pending" }
                out += "\n"
                if out.utf8.count > 1 << 16 {
                    StandardStream.out(out)
                    out = ""
                }
            }
            StandardStream.out(out)
        }
    }
}
