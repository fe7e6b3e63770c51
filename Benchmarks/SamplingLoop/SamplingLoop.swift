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
import CANSouth
import ModbusSouth
import ProfibusSouth
import MQTTNorth
import RailgateConfig
import RailgateCore
import RailgateHistory

/// The running south half, started once in setup.
final class Fixture: @unchecked Sendable {
    let simulator = Process()
    let poller: BusPoller
    let engine: TagEngine
    let sink: ChangeQueue
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
        // A north queue as MQTT has one: changes, a string's text with them, go in without allocating.
        sink = ChangeQueue(name: "bench", tags: tags, capacity: 1 << 16)
        engine = TagEngine(table: TagTable(tags: tags), rings: [poller.ring], sinks: [sink], wakeup: wakeup)
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

/// A PROFIBUS line: socat PTY pair, the slave simulator with two stations,
/// a DP master and the engine.
final class DPFixture: @unchecked Sendable {
    let socat = Process()
    let simulator = Process()
    let master: DPMaster
    let engine: TagEngine

    init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let directory = NSTemporaryDirectory() + "rg-bench-dp-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (a, b) = (directory + "/a", directory + "/b")
        // socat lives only as long as this process, even if teardown never runs. The benchmark
        // harness blocks SIGTERM and children inherit the mask, so only SIGKILL ends socat.
        socat.executableURL = URL(fileURLWithPath: "/bin/sh")
        socat.arguments = ["-c", "socat pty,raw,echo=0,link=\(a) pty,raw,echo=0,link=\(b) & s=$!; "
                           + "while kill -0 \(getpid()) 2>/dev/null && kill -0 $s 2>/dev/null; do sleep 0.5; done; kill -9 $s"]
        socat.standardOutput = FileHandle.nullDevice
        socat.standardError = FileHandle.nullDevice
        try socat.run()
        var waited = 0
        while !(FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b)) && waited < 100 {
            usleep(50_000)
            waited += 1
        }
        simulator.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        simulator.arguments = ["python3", root.appendingPathComponent("scripts/sim/profibus_sim.py").path,
                               "--port", b, "--control", String(Fixture.freePort()),
                               "--slave", "addr=5,ident=0x5247,cfg=10 51 20 61,counter=1",
                               "--slave", "addr=7,ident=0x5248,cfg=71,inputs=0437 05DC"]
        simulator.standardOutput = FileHandle.nullDevice
        simulator.standardError = FileHandle.nullDevice
        try simulator.run()
        let gsd = root.appendingPathComponent("hardware/gsd").path
        let configuration = try Configuration.load(yaml: """
            gateway: {id: bench, isa95: {enterprise: bench}}
            south:
              - name: dp
                protocol: profibus-dp
                serial: {device: \(a), baud: 1500000}
                cycle_ms: 2
                slaves:
                  - name: io5
                    address: 5
                    gsd: RG_IO.gsd
                    modules: ["8 DI", "2 AI word", "8 DO", "2 AO word"]
                    tags:
                      - {name: di, area: input, byte: 0, type: uint8}
                      - {name: di3, area: input, byte: 0, bit: 3}
                      - {name: counter, area: input, byte: 1, type: uint16}
                      - {name: temp, area: input, byte: 3, type: int16, scale: 0.1}
                      - {name: lamp, area: output, byte: 0, bit: 2, writable: true}
                      - {name: ao1, area: output, byte: 1, type: uint16, writable: true}
                  - name: drive7
                    address: 7
                    gsd: RG_DRIVE.gsd
                    tags:
                      - {name: status, area: input, byte: 0, type: uint16}
                      - {name: speed, area: input, byte: 2, type: int16}
                      - {name: both, area: input, byte: 0, type: float32, order: CDAB}
            """, baseDirectory: gsd)
        let tags = configuration.tags()
        let wakeup = Wakeup()
        master = DPMaster(line: configuration.profibus[0], firstTag: 0, tags: tags, engineWakeup: wakeup,
                          logger: Logger(label: "bench"))
        engine = TagEngine(table: TagTable(tags: tags), rings: [master.ring], sinks: [], wakeup: wakeup)
        let engine = self.engine
        Thread { engine.run() }.start()
        master.start()
        let deadline = Date().addingTimeInterval(30)
        while (master.cycles(slave: 0) < 20 || master.cycles(slave: 1) < 20) && Date() < deadline { usleep(10_000) }
        guard master.cycles(slave: 0) >= 20 && master.cycles(slave: 1) >= 20 else { throw CocoaError(.featureUnsupported) }
    }

    func stop() {
        master.stop()
        engine.stop()
        simulator.terminate()
        // socat's wrapper ends it when this process exits (see init).
    }
}

nonisolated(unsafe) var dpFixture: DPFixture?

/// A CAN bus reading `struct can_frame` records from a seqpacket socket
/// this fixture serves (the same frame path as a SocketCAN socket), with the
/// sample DBC's engine, battery and drive messages, and the engine.
final class CANFixture: @unchecked Sendable {
    let bus: CANBus
    let engine: TagEngine
    let listener: Int32
    var peer: Int32 = -1
    /// Four frames (EEC1, ET1, BatteryStatus, BatteryCells), 16 bytes each, sent round-robin.
    let frames = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)

    init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = NSTemporaryDirectory() + "rg-bench-can-\(getpid()).sock"
        unlink(path)
        let listening = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0)
        guard let address = UnixSocketAddress(path), address.withSockaddr({ bind(listening, $0, $1) }) == 0,
              listen(listening, 1) == 0 else { throw CocoaError(.fileWriteUnknown) }
        listener = listening
        let configuration = try Configuration.load(yaml: """
            gateway: {id: bench, isa95: {enterprise: bench}}
            south:
              - name: can1
                protocol: can
                interface: seqpacket:\(path)
                dbc: \(root.appendingPathComponent("hardware/dbc/RG_MACHINE.dbc").path)
                devices:
                  - {name: engine, messages: [EEC1, ET1], timeout_ms: 60000}
                  - {name: battery, messages: [BatteryStatus, BatteryCells], timeout_ms: 60000}
            """)
        let tags = configuration.tags()
        let wakeup = Wakeup()
        bus = CANBus(bus: configuration.can[0], tags: tags, engineWakeup: wakeup, logger: Logger(label: "bench"))
        engine = TagEngine(table: TagTable(tags: tags), rings: [bus.ring], sinks: [], wakeup: wakeup)
        // Frames as cantools encodes them (see Tests/CANSouthTests/SignalCodecTests.swift).
        let records: [(UInt32, String)] = [(0x8CF0_04FE, "03a5719d2f000000"), (0x98FE_F1FE, "7f23d02e00000000"),
                                           (0x400, "9d19fb2e99a00000"), (0x401, "01f00ce20cf90000")]
        frames.initializeMemory(as: UInt8.self, repeating: 0)
        for (index, (id, hex)) in records.enumerated() {
            frames.storeBytes(of: id, toByteOffset: index * 16, as: UInt32.self)
            frames.storeBytes(of: UInt8(8), toByteOffset: index * 16 + 4, as: UInt8.self)
            for byte in 0..<8 {
                let start = hex.index(hex.startIndex, offsetBy: byte * 2)
                frames[index * 16 + 8 + byte] = UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
            }
        }
        let engine = self.engine
        Thread { engine.run() }.start()
        bus.start()
        peer = accept(listener, nil, nil)
        guard peer >= 0 else { throw CocoaError(.fileReadUnknown) }
        send(400)
        let deadline = Date().addingTimeInterval(30)
        while bus.stats.frames < 400 && Date() < deadline { usleep(10_000) }
        guard bus.stats.frames >= 400 else { throw CocoaError(.featureUnsupported) }
    }

    /// Sends `count` frames (blocking when the socket buffer is full); allocates nothing.
    func send(_ count: Int) {
        for index in 0..<count {
            _ = Glibc.send(peer, frames.baseAddress! + (index % 4) * 16, 16, 0)
        }
    }

    func stop() {
        bus.stop()
        engine.stop()
        close(peer)
        close(listener)
    }
}

nonisolated(unsafe) var canFixture: CANFixture?

/// Mallocs, wall clock and syscalls over 100 steady-state cycles of a south
/// thread (and the engine draining its ring). `cycles` reads the counter.
func cycleBenchmark(_ name: String, cycles: @escaping @Sendable () -> Int?,
                    setup: @escaping @Sendable () throws -> Void, teardown: @escaping @Sendable () -> Void) {
    Benchmark(
        name,
        configuration: .init(
            metrics: [.mallocCountTotal, .wallClock, .syscalls],
            warmupIterations: 1,
            scalingFactor: .one,
            maxDuration: .seconds(60),
            maxIterations: 5),
        closure: { benchmark in
            guard let start = cycles() else { return }
            benchmark.startMeasurement()
            while (cycles() ?? .max) < start + 100 { usleep(1000) }
            benchmark.stopMeasurement()
        },
        setup: setup,
        teardown: teardown)
}

let benchmarks: @Sendable () -> Void = {
    cycleBenchmark("Sampling loop: 100 poll cycles, 12 tags of every type",
                   cycles: { fixture?.poller.cycles(device: 0) },
                   setup: { fixture = try Fixture() },
                   teardown: { fixture?.stop(); fixture = nil })
    cycleBenchmark("DP sampling loop: 100 cycles, 2 slaves, 9 tags",
                   cycles: { dpFixture?.master.cycles(slave: 1) },
                   setup: { dpFixture = try DPFixture() },
                   teardown: { dpFixture?.stop(); dpFixture = nil })

    // CAN: 10 000 frames decoded (20 signals of 4 messages) and drained.
    Benchmark(
        "CAN sampling loop: 10 000 frames, 4 messages, 20 signals",
        configuration: .init(
            metrics: [.mallocCountTotal, .wallClock, .throughput],
            warmupIterations: 1,
            scalingFactor: .one,
            maxDuration: .seconds(60),
            maxIterations: 5),
        closure: { benchmark in
            guard let fixture = canFixture else { return }
            let start = fixture.bus.stats.frames
            benchmark.startMeasurement()
            fixture.send(10_000)
            while fixture.bus.stats.frames < start + 10_000 { usleep(200) }
            benchmark.stopMeasurement()
        },
        setup: { canFixture = try CANFixture() },
        teardown: { canFixture?.stop(); canFixture = nil })

    // Edge KPIs: 10 000 samples of a machine's state, reason and counters through the engine,
    // a stop (with its downtime event) every 100 samples, the figures published at each change.
    let kpiTags = [
        Tag(name: "state", device: "filler", path: "b/filler/state", dataType: .uint16),
        Tag(name: "reason", device: "filler", path: "b/filler/reason", dataType: .uint16,
            codes: CodeMap(name: "reasons", entries: [(0, "NONE"), (7, "JAM")])),
        Tag(name: "total", device: "filler", path: "b/filler/total", dataType: .uint16),
        Tag(name: "good", device: "filler", path: "b/filler/good", dataType: .uint16),
    ] + KPIOutput.tags(device: "line") { "b/line/\($0)" }
    let kpiMachine = KPIMachine(name: "line", stateTag: 0, stateValues: [(1, .running), (3, .down)], reasonTag: 1,
                                totalTag: 2, qualityTag: 3, countsScrap: false, idealCycleNs: 100_000_000,
                                counterModulus: 65536, firstOutput: 4)
    Benchmark(
        "KPI engine: 10 000 samples, 100 stops",
        configuration: .init(metrics: [.mallocCountTotal, .wallClock], warmupIterations: 1, scalingFactor: .one,
                             maxDuration: .seconds(30), maxIterations: 5)
    ) { benchmark in
        let ring = SampleRing(minimumCapacity: 1024, slotBytes: 0)
        let sink = ChangeQueue(name: "bench", tags: kpiTags, capacity: 1 << 16)
        let kpi = KPIEngine(machines: [kpiMachine], calendar: ShiftCalendar(shifts: [Shift(name: "all", startSecond: 0, endSecond: 86_399)]),
                            tags: kpiTags, publishIntervalNs: 100_000_000)
        let engine = TagEngine(table: TagTable(tags: kpiTags), rings: [ring], sinks: [sink], kpi: kpi)
        engine.drainOnce()
        sink.discard()
        benchmark.startMeasurement()
        for step in 0..<2_500 {
            let down = step % 25 >= 20
            let count = UInt64(step * 3 % 65536)
            ring.push(Sample(tag: 1, quality: .good, timestamp: 0, value: SampleValue(uint: down ? 7 : 0)))
            ring.push(Sample(tag: 0, quality: .good, timestamp: 0, value: SampleValue(uint: down ? 3 : 1)))
            ring.push(Sample(tag: 2, quality: .good, timestamp: 0, value: SampleValue(uint: count)))
            ring.push(Sample(tag: 3, quality: .good, timestamp: 0, value: SampleValue(uint: count)))
            engine.drainOnce()
            if step % 64 == 63 { sink.discard() }
        }
        benchmark.stopMeasurement()
        blackHole(engine.stats.changes)
    }

    // Alarms: 10 000 samples of 4 watched tags through the engine, 2 limit alarms and 2
    // off-normal alarms changing state every few samples (activation, limit, clearing), their
    // state tags published and their changes queued for OPC UA, an acknowledgment every 100
    // samples published by the engine (goal: no allocation).
    let alarmTags = (0..<4).map { Tag(name: "t\($0)", device: "d", path: "b/d/t\($0)", dataType: $0 < 2 ? .float64 : .uint16) }
        + (0..<4).map { Tag(name: "a\($0)", device: "d", path: "b/d/a\($0)", dataType: .uint16, codes: AlarmEngine.stateCodes) }
    let alarmDefinitions = (0..<4).map { tag in
        AlarmDefinition(name: "a\(tag)", tag: tag, output: 4 + tag,
                        kind: tag < 2 ? .limit(highHigh: 90, high: 80, low: 10, lowLow: 5, deadband: 1) : .offNormal(normal: [0]),
                        severity: 500, message: "alarm \(tag)")
    }
    Benchmark(
        "Alarms: 10 000 samples, 4 alarms",
        configuration: .init(metrics: [.mallocCountTotal, .wallClock], warmupIterations: 1, scalingFactor: .one,
                             maxDuration: .seconds(30), maxIterations: 5)
    ) { benchmark in
        let ring = SampleRing(minimumCapacity: 1024, slotBytes: 0)
        let sink = ChangeQueue(name: "bench", tags: alarmTags, capacity: 1 << 16)
        let alarms = AlarmEngine(definitions: alarmDefinitions)
        let engine = TagEngine(table: TagTable(tags: alarmTags), rings: [ring], sinks: [sink], alarms: alarms)
        engine.drainOnce()
        sink.discard()
        let values: [Double] = [50, 85, 95, 88, 50, 7, 3, 50]
        benchmark.startMeasurement()
        for step in 0..<2_500 {
            let value = values[step % values.count]
            for tag in 0..<4 {
                ring.push(Sample(tag: UInt32(tag), quality: .good, timestamp: Int64(step),
                                 value: tag < 2 ? SampleValue(double: value) : SampleValue(uint: UInt64(step / 3 % 2))))
            }
            engine.drainOnce()
            if step % 25 == 24 { _ = alarms.acknowledge(step % 4, user: "bench", comment: "", now: Int64(step)) }
            if step % 64 == 63 { sink.discard() }
        }
        benchmark.stopMeasurement()
        blackHole(engine.stats.changes)
        blackHole(alarms.takeEvents().events.count)
    }

    // History, sampling side: 10 000 changes of 4 historized tags through the engine into the
    // recorder's queue (goal: no allocation). Recorder side: the same 10 000 values stored, one
    // pwrite each, forced to disk once.
    let historyTags = (0..<4).map { Tag(name: "t\($0)", device: "d", path: "b/d/t\($0)", dataType: $0 == 3 ? .uint32 : .float64) }
    /// A store of the 4 tags in a fresh directory, with an engine feeding it from a ring.
    func historyFixture() -> (store: HistoryStore, directory: String, ring: SampleRing, engine: TagEngine)? {
        let directory = NSTemporaryDirectory() + "rg-bench-history-\(UUID().uuidString)"
        let config = HistoryConfig(directory: directory, maxBytes: 1 << 30, syncIntervalMs: 1000, maxReadValues: 1000, tags: [])
        guard let store = try? HistoryStore(config: config, tags: historyTags,
                                            historized: (0..<4).map { HistorizedTag(index: $0, maxValues: 100_000, maxAgeNs: nil) },
                                            logger: Logger(label: "bench")) else { return nil }
        let ring = SampleRing(minimumCapacity: 1024, slotBytes: 0)
        let engine = TagEngine(table: TagTable(tags: historyTags), rings: [ring], sinks: [store.queue])
        engine.drainOnce()
        return (store, directory, ring, engine)
    }
    func historyChanges(_ ring: SampleRing, _ engine: TagEngine) {
        for step in 0..<2_500 {
            for tag in 0..<4 {
                ring.push(Sample(tag: UInt32(tag), quality: .good, timestamp: Int64(step) * 1_000_000,
                                 value: tag == 3 ? SampleValue(uint: UInt64(step)) : SampleValue(double: Double(step) + Double(tag))))
            }
            engine.drainOnce()
        }
    }
    Benchmark(
        "History: 10 000 changes queued for the recorder",
        configuration: .init(metrics: [.mallocCountTotal, .wallClock], warmupIterations: 1, scalingFactor: .one,
                             maxDuration: .seconds(30), maxIterations: 5)
    ) { benchmark in
        guard let fixture = historyFixture() else { return }
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        benchmark.startMeasurement()
        historyChanges(fixture.ring, fixture.engine)
        benchmark.stopMeasurement()
        blackHole(fixture.store.queue.count)
    }
    Benchmark(
        "History recorder: 10 000 values stored",
        configuration: .init(metrics: [.mallocCountTotal, .wallClock], warmupIterations: 1, scalingFactor: .one,
                             maxDuration: .seconds(30), maxIterations: 5)
    ) { benchmark in
        guard let fixture = historyFixture() else { return }
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        historyChanges(fixture.ring, fixture.engine)
        benchmark.startMeasurement()
        fixture.store.drain()
        fixture.store.sync()
        benchmark.stopMeasurement()
        blackHole(fixture.store.stats.stored)
    }

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
