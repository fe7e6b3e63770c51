// Guards the product promise "the sampling loop allocates nothing": a bus
// thread polls a real Modbus TCP server (the pymodbus simulator), decodes
// every data type into samples and pushes them into the ring, while the
// engine thread drains the ring into the TagTable. The measured interval
// covers 100 complete poll cycles; malloc counts are process-wide, so any
// allocation on the bus or engine thread shows.

import Benchmark
import Foundation
import Glibc
import Logging
import ModbusSouth
import MQTTNorth
import RailgateConfig
import RailgateCore

/// The running south half, started once in setup.
final class Fixture: @unchecked Sendable {
    let simulator = Process()
    let poller: BusPoller
    let engine: TagEngine
    let readsPerCycle: Int

    init() throws {
        let port = Fixture.freePort()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        simulator.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        simulator.arguments = ["python3", root.appendingPathComponent("scripts/sim/modbus_sim.py").path,
                               "--tcp", String(port), "--units", "1", "--exit-with-parent", String(getpid())]
        simulator.standardOutput = FileHandle.nullDevice
        simulator.standardError = FileHandle.nullDevice
        try simulator.run()
        let configuration = try Configuration.load(yaml: """
            gateway: {id: bench, isa95: {enterprise: bench}}
            south:
              - name: bench
                protocol: modbus-tcp
                host: 127.0.0.1
                port: \(port)
                devices:
                  - name: meter
                    unit: 1
                    poll_ms: 10
                    tags:
                      - {name: voltage, ref: 400001, type: float32, deadband: 0.5}
                      - {name: current, ref: 400003, type: float32, order: CDAB}
                      - {name: temperature, ref: 400005, type: int16, scale: 0.1}
                      - {name: speed, ref: 400006}
                      - {name: counter, ref: 400007, type: uint32}
                      - {name: energy, ref: 400009, type: int64}
                      - {name: pi, ref: 400013, type: float64, order: DCBA}
                      - {name: running, ref: 400017, type: bool, bit: 0}
                      - {name: serial, ref: 400021, type: string, length: 8}
                      - {name: frequency, ref: 300002, type: float32}
                      - {name: lamp, ref: "00001"}
                      - {name: input, ref: 100001}
            """)
        let tags = configuration.tags()
        let wakeup = Wakeup()
        poller = BusPoller(bus: configuration.buses[0], firstTag: 0, tags: tags, engineWakeup: wakeup,
                           logger: Logger(label: "bench"))
        readsPerCycle = poller.plans[0].reads.count
        engine = TagEngine(table: TagTable(tags: tags), rings: [poller.ring], sinks: [], wakeup: wakeup)
        let engine = self.engine
        Thread { engine.run() }.start()
        poller.start()
        // Steady state: connected, every tag read at least once.
        let deadline = Date().addingTimeInterval(30)
        while poller.cycles(device: 0) < 20 && Date() < deadline { usleep(10_000) }
        guard poller.cycles(device: 0) >= 20 else { throw CocoaError(.featureUnsupported) }
    }

    func stop() {
        poller.stop()
        engine.stop()
        simulator.terminate()
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

nonisolated(unsafe) var fixture: Fixture?

let benchmarks: @Sendable () -> Void = {
    Benchmark(
        "Sampling loop: 100 poll cycles, 12 tags of every type",
        configuration: .init(
            metrics: [.mallocCountTotal, .wallClock, .syscalls],
            warmupIterations: 1,
            scalingFactor: .one,
            maxDuration: .seconds(60),
            maxIterations: 5),
        closure: { benchmark in
            guard let poller = fixture?.poller else { return }
            let target = poller.cycles(device: 0) + 100
            benchmark.startMeasurement()
            while poller.cycles(device: 0) < target { usleep(1000) }
            benchmark.stopMeasurement()
        },
        setup: { fixture = try Fixture() },
        teardown: {
            fixture?.stop()
            fixture = nil
        })

    // Journal throughput: append 10 000 records (fsync every second), then
    // read and commit them all, in a fresh directory each iteration.
    let records = (0..<10_000).map {
        JournalRecord(path: "acme/plant1/line3/meter1/tag\($0 % 100)", timestamp: Int64($0),
                      value: SampleValue(double: Double($0)), quality: .good, text: nil)
    }
    Benchmark(
        "Journal: append 10 000 records",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .one, maxDuration: .seconds(10),
                             maxIterations: 20)
    ) { benchmark in
        let directory = NSTemporaryDirectory() + "rg-bench-journal-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard let journal = try? Journal(directory: directory, maxBytes: 1 << 30, segmentBytes: 1 << 20,
                                         sync: .interval(ms: 1000), logger: Logger(label: "bench")) else { return }
        benchmark.startMeasurement()
        for start in stride(from: 0, to: records.count, by: 100) {
            try? journal.append(Array(records[start..<start + 100]))
        }
        benchmark.stopMeasurement()
    }
    Benchmark(
        "Journal: read and commit 10 000 records",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .one, maxDuration: .seconds(10),
                             maxIterations: 20)
    ) { benchmark in
        let directory = NSTemporaryDirectory() + "rg-bench-journal-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard let journal = try? Journal(directory: directory, maxBytes: 1 << 30, segmentBytes: 1 << 20,
                                         sync: .never, logger: Logger(label: "bench")) else { return }
        try? journal.append(records)
        benchmark.startMeasurement()
        while !journal.isEmpty {
            let (batch, end) = journal.read(limit: 500)
            journal.commit(end, replayed: batch.count)
        }
        benchmark.stopMeasurement()
    }

    // Control: proves the counter sees allocations (expect exactly 1).
    Benchmark(
        "Control: one heap allocation",
        configuration: .init(metrics: [.mallocCountTotal], scalingFactor: .one, maxIterations: 5)
    ) { benchmark in
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        blackHole(buffer)
        buffer.deallocate()
    }
}
