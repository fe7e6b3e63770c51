// Harnesses for what comes off a wire or a disk: PROFIBUS FDL telegrams, Modbus answers,
// Sparkplug commands from the broker, journal segments.
import Glibc
import Logging
@testable import MQTTNorth
@testable import ModbusSouth
import ProfibusSouth
import RailgateConfig
import RailgateCore

/// A PROFIBUS line's received octets, decoded telegram by telegram the way the DP master reads
/// them; each telegram's data taken as a slave diagnosis.
final class FDLHarness: Harness {
    static let name = "fdl"
    required init() {}

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        guard let base = input.baseAddress else { return }
        var offset = 0
        while offset < input.count {
            switch FDL.decode(base + offset, count: input.count - offset) {
            case .incomplete:
                return
            case .invalid(_, let skip):
                expect(skip >= 1, "decode asked to skip \(skip) octets")
                offset += skip
            case .frame(let frame):
                expect(frame.length >= 1 && frame.length <= input.count - offset, "telegram of \(frame.length) octets")
                expect(frame.dataOffset >= 0 && frame.dataCount >= 0 && frame.dataOffset + frame.dataCount <= frame.length,
                       "data \(frame.dataOffset)+\(frame.dataCount) outside a telegram of \(frame.length)")
                if let diagnosis = DPDiagnosis(UnsafeBufferPointer(start: base + offset + frame.dataOffset,
                                                                   count: frame.dataCount)) {
                    _ = diagnosis.description
                }
                offset += frame.length
            }
        }
    }

    static func seeds() -> [[UInt8]] {
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: FDL.maxTelegram)
        defer { out.deallocate() }
        func telegram(fc: UInt8, dsap: Int = -1, ssap: Int = -1, data: [UInt8] = []) -> [UInt8] {
            let n = data.withUnsafeBufferPointer {
                FDL.encode(into: out, da: 2, sa: 5, fc: fc, dsap: dsap, ssap: ssap, data: $0.baseAddress, dataCount: data.count)
            }
            return Array(UnsafeBufferPointer(start: out, count: n))
        }
        let diagnosis: [UInt8] = [0x02, 0x05, 0x00, 0x02, 0x0B, 0x04]
        return [
            [FDL.shortAck],
            telegram(fc: FDL.FC.ok),
            telegram(fc: FDL.FC.dataLow, data: [1, 2, 3, 4, 5, 6, 7, 8]),
            telegram(fc: FDL.FC.dataLow, dsap: 62, ssap: 60, data: diagnosis),
            telegram(fc: FDL.FC.dataHigh, data: Array(repeating: 0x55, count: 32)),
            telegram(fc: FDL.FC.ok) + [FDL.shortAck] + telegram(fc: FDL.FC.dataLow, data: [9]),
        ]
    }
}

/// Modbus answers against a read: table, unit, transaction and count from the first octets,
/// then a TCP stream or an RTU answer, checked as `ModbusConnection` checks them.
final class ModbusHarness: Harness {
    static let name = "modbus"
    let frame = UnsafeMutablePointer<UInt8>.allocate(capacity: 260)
    let registers = UnsafeMutablePointer<UInt16>.allocate(capacity: 125)
    let bits = UnsafeMutablePointer<UInt8>.allocate(capacity: 2000)
    required init() {}

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        var reader = InputReader(input)
        let setup = reader.byte()
        let table: ModbusTable = [.coil, .discreteInput, .holdingRegister, .inputRegister][Int(setup & 3)]
        let serial = setup & 4 != 0
        let unit = Int(reader.byte())
        let transaction = reader.uint16()
        // The plan never asks more than one request can carry (ReadPlan, max_registers/max_bits).
        let count = 1 + Int(reader.uint16()) % (table.isBits ? 2000 : 125)
        // Bit 3: a write (FC 5, 6, 15, 16 by bits 4-5) of `count` at `transaction`, instead of a read.
        let expected: ModbusAnswer.Expected = setup & 8 == 0
            ? .read(table, count: count)
            : .write(function: [0x05, 0x06, 0x0F, 0x10][Int(setup >> 4 & 3)], address: transaction,
                     value: UInt16(count))
        let stream = Array(reader.rest())
        var offset = 0
        func fill(_ n: Int, at start: Int) -> Bool {
            guard n >= 0, start + n <= 260, offset + n <= stream.count else { return false }
            for index in 0..<n { frame[start + index] = stream[offset + index] }
            offset += n
            return true
        }
        if serial {
            guard fill(3, at: 0), let length = ModbusAnswer.rtuLength(frame, expected: expected) else { return }
            expect(length <= 260, "RTU answer of \(length) octets")
            guard fill(length - 3, at: 3) else { return }
            check(ModbusAnswer.checkRTU(frame, length: length, unit: unit, expected: expected,
                                        registers: registers, bits: bits))
            return
        }
        while fill(7, at: 0) {
            guard let length = ModbusAnswer.tcpLength(frame) else { return }
            guard fill(length - 1, at: 7) else { return }
            let verdict = ModbusAnswer.checkTCP(frame, length: length, transactionId: transaction, unit: unit,
                                                expected: expected, registers: registers, bits: bits)
            if verdict == .skip { continue }
            check(verdict)
            return
        }
    }

    private func check(_ verdict: ModbusAnswer.Verdict) {
        if case .failed(let code) = verdict {
            // Every refusal maps to a bad quality that keeps the connection (only I/O errors reconnect).
            expect(!ModbusErrno.needsReconnect(code), "answer check \(code) would reconnect")
        }
    }

    static func seeds() -> [[UInt8]] {
        func rtu(_ pdu: [UInt8]) -> [UInt8] {
            let crc = ModbusAnswer.crc16(pdu, count: pdu.count)
            return pdu + [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        }
        let tcpAnswer: [UInt8] = [0, 7, 0, 0, 0, 7, 1, 3, 4, 0x12, 0x34, 0x56, 0x78]
        return [
            [2, 1, 0, 7, 0, 1] + tcpAnswer,
            [2, 1, 0, 7, 0, 1] + [0, 6, 0, 0, 0, 7, 1, 3, 4, 0, 0, 0, 0] + tcpAnswer,
            [2, 1, 0, 7, 0, 0] + [0, 7, 0, 0, 0, 3, 1, 0x83, 2],
            [0, 1, 0, 7, 0, 9] + [0, 7, 0, 0, 0, 5, 1, 1, 2, 0xFF, 0x01],
            [6, 1, 0, 0, 0, 1] + rtu([1, 3, 4, 0x12, 0x34, 0x56, 0x78]),
            [6, 1, 0, 0, 0, 1] + rtu([1, 0x83, 2]),
            [4, 1, 0, 0, 0, 7] + rtu([1, 1, 1, 0xA5]),
            [0x1E, 1, 0, 40, 0x01, 0xF3] + rtu([1, 6, 0, 40, 0x01, 0xF4]),
            [0x3A, 1, 0, 41, 0, 1] + [0, 41, 0, 0, 0, 6, 1, 0x10, 0, 41, 0, 2],
        ]
    }
}

/// A command from the broker: the first octet picks the topic (NCMD, DCMD of a device or of none,
/// STATE, another), the rest is the payload. Writes go through the write router to a bus that
/// carries them out at once.
final class SparkplugHarness: Harness {
    static let name = "sparkplug"
    let publisher: SparkplugEdgeNode
    let topics: [String]

    required init() {
        let yaml = """
        gateway: {id: fuzz, isa95: {enterprise: acme}, writes: true}
        mqtt:
          host: 127.0.0.1
          port: 1
          format: sparkplug
          sparkplug: {group_id: line3, primary_host_id: scada}
        south:
          - name: tcp1
            protocol: modbus-tcp
            host: 127.0.0.1
            port: 1
            devices:
              - name: m1
                unit: 1
                tags:
                  - {name: speed, ref: 400001, writable: true}
                  - {name: voltage, ref: 400002, type: float32, writable: true}
              - name: m2
                unit: 2
                tags:
                  - {name: run, ref: "00001", type: bool, writable: true}
        """
        let configuration = try! Configuration.load(yaml: yaml)
        let table = TagTable(tags: [
            Tag(name: "speed", device: "m1", path: "acme/m1/speed", dataType: .uint16, writable: true),
            Tag(name: "voltage", device: "m1", path: "acme/m1/voltage", dataType: .float32, writable: true),
            Tag(name: "run", device: "m2", path: "acme/m2/run", dataType: .bool, writable: true),
        ])
        let writes = WriteRouter(table: table, writesEnabled: true,
                                 targets: Array(repeating: InstantWrites(), count: table.count), audit: { _ in })
        guard let mqtt = configuration.mqtt, case .sparkplug(let sparkplug) = mqtt.format else {
            fatalError("the Sparkplug fixture has no Sparkplug configuration")
        }
        publisher = SparkplugEdgeNode(config: mqtt, sparkplug: sparkplug, table: table,
                                      devices: DeviceTable(tags: table.tags), writes: writes, logger: UAFixture.quiet)
        topics = ["spBv1.0/line3/NCMD/fuzz", "spBv1.0/line3/DCMD/fuzz/m1", "spBv1.0/line3/DCMD/fuzz/m2",
                  "spBv1.0/line3/DCMD/fuzz/m9", "spBv1.0/STATE/scada", "spBv1.0/line3/NDATA/fuzz"]
    }

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        var reader = InputReader(input)
        let topic = topics[Int(reader.byte()) % topics.count]
        _ = publisher.handle(topic, Array(reader.rest()))
    }

    static func seeds() -> [[UInt8]] {
        func metric(_ name: String?, alias: UInt64?, _ set: (inout SparkplugMetric) -> Void) -> SparkplugMetric {
            var metric = SparkplugMetric()
            if let name { metric.name = name }
            if let alias { metric.alias = alias }
            set(&metric)
            return metric
        }
        func payload(_ metrics: [SparkplugMetric]) -> [UInt8] {
            var payload = SparkplugPayload()
            payload.timestamp = 1_700_000_000_000
            payload.metrics = metrics
            return (try? payload.serializedBytes()) ?? []
        }
        return [
            [0] + payload([metric("Node Control/Rebirth", alias: nil) { $0.datatype = SparkplugType.boolean; $0.booleanValue = true }]),
            [1] + payload([metric("acme/m1/speed", alias: nil) { $0.datatype = SparkplugType.uint16; $0.intValue = 7 }]),
            [1] + payload([metric(nil, alias: 2) { $0.datatype = SparkplugType.float; $0.floatValue = 230.5 }]),
            [2] + payload([metric(nil, alias: 3) { $0.datatype = SparkplugType.boolean; $0.booleanValue = true }]),
            [3] + payload([metric(nil, alias: 1) { $0.datatype = SparkplugType.uint16; $0.intValue = 1 }]),
            [4] + Array(#"{"online": true, "timestamp": 1700000000000}"#.utf8),
        ]
    }
}

/// A journal directory after a crash: the input is cut into a cursor file and up to three segment
/// files. The journal must open it, read and replay what is sound, and append after it.
final class JournalHarness: Harness {
    static let name = "journal"
    required init() {}

    func run(_ input: UnsafeBufferPointer<UInt8>) {
        var reader = InputReader(input)
        let directory = Scratch.directory("journal")
        let layout = reader.byte()
        let cursor = reader.take(Int(layout & 0x1F))
        if !cursor.isEmpty { Scratch.write(cursor, to: "\(directory)/cursor") }
        let segments = 1 + Int(layout >> 5) % 3
        for number in 1...segments {
            let size = number == segments ? reader.remaining : Int(reader.uint16())
            Scratch.write(reader.take(size), to: Journal.path(directory, UInt64(number)))
        }
        _ = try? JournalContents.read(directory: directory)
        guard let journal = try? Journal(directory: directory, maxBytes: 1 << 16, segmentBytes: 4096, sync: .never,
                                         logger: UAFixture.quiet) else { return }
        var total = 0
        for _ in 0..<64 {
            let (records, end) = journal.read(limit: 16)
            if records.isEmpty { break }
            total += records.count
            journal.commit(end, replayed: records.count)
        }
        expect(total <= input.count, "\(total) records read from \(input.count) octets")
        try? journal.append([JournalRecord(path: "acme/m1/speed", timestamp: 1, value: .zero, quality: .good, text: nil)])
        let (records, _) = journal.read(limit: 16)
        expect(!records.isEmpty, "a record appended after recovery is not read back")
    }

    static func seeds() -> [[UInt8]] {
        let directory = Scratch.directory("journal-seed")
        guard let journal = try? Journal(directory: directory, maxBytes: 1 << 16, segmentBytes: 4096, sync: .never,
                                         logger: UAFixture.quiet) else { return [] }
        try? journal.append((0..<3).map {
            JournalRecord(path: "acme/m1/speed", timestamp: Int64($0), value: .zero, quality: .good, text: $0 == 2 ? "x" : nil)
        })
        journal.flush()
        let (_, end) = journal.read(limit: 1)
        journal.commit(end, replayed: 1)
        let segment = Journal.readFile(Journal.path(directory, 1))
        let cursor = Journal.readFile("\(directory)/cursor")
        return [
            [0] + segment,
            [UInt8(min(cursor.count, 31))] + cursor.prefix(31) + segment,
            [UInt8(0x20)] + [UInt8(segment.count >> 8), UInt8(segment.count & 0xFF)] + segment + segment.prefix(20),
        ]
    }
}
