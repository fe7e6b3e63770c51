import CRailgatePlatform
import FoundationEssentials
import Logging
import RailgateConfig
import RailgateCore
import Synchronization

/// The DP class 1 master of one PROFIBUS line, on its own OS thread
/// (`rg-s-<line>`). Each slave goes Slave_Diag → Set_Prm → Chk_Cfg →
/// Slave_Diag → Data_Exchange; any fault takes it back to the start with the
/// reason recorded, while the other slaves keep cycling. Tags are decoded
/// from the process images after every Data_Exchange and pushed into the
/// line's `SampleRing`.
///
/// HOT PATH: `exchange`, `transact` and `decodeTags` run every cycle and
/// allocate nothing: telegrams are built in and parsed from buffers
/// allocated here; strings are made only when a slave changes state.
public final class DPMaster: @unchecked Sendable, TagWriteTarget {
    public let line: ProfibusLineConfig
    public let ring: SampleRing
    private let firstTag: Int
    private let tags: [Tag]
    private let engineWakeup: Wakeup
    private let logger: Logger

    // Owned by the line thread.
    private var port: SerialLine?
    private let tx: UnsafeMutablePointer<UInt8>
    private let rx: UnsafeMutablePointer<UInt8>
    private static let rxCapacity = 1024
    private var rxCount = 0
    private let words: UnsafeMutablePointer<UInt16>
    private var slaves: [SlaveRuntime]
    private var lastFrameEndNs: Int64 = 0
    private var lineDown = false
    private var reopenAtNs: Int64 = 0
    private var reopenBackoffMs: Int
    private var openLogged = false
    /// Octets sent and received since start (line thread).
    private var octetsOnLine = 0

    // Shared with other threads.
    private let statistics: Mutex<[DPSlaveStats]>
    private let totals = Mutex(DPLineStats())
    private let pendingWrites = WriteQueue()
    private let thread = SouthThread()
    private var wakeup: Wakeup { thread.wakeup }

    /// Bit times → nanoseconds at the line's baud rate.
    private let bitNs: Int64
    /// Idle time before each request: TSYN (33 bit times) plus the minimum station delay.
    private let idleNs: Int64
    private let responseTimeoutNs: Int64

    public init(line: ProfibusLineConfig, firstTag: Int, tags: [Tag], engineWakeup: Wakeup, logger: Logger) {
        self.line = line
        self.firstTag = firstTag
        self.tags = tags
        self.engineWakeup = engineWakeup
        self.logger = logger
        var next = firstTag
        var runtimes: [SlaveRuntime] = []
        for slave in line.slaves {
            runtimes.append(SlaveRuntime(config: slave, firstTag: next, line: line))
            next += slave.tags.count
        }
        slaves = runtimes
        ring = SampleRing(minimumCapacity: max(256, (next - firstTag) * 4))
        tx = .allocate(capacity: FDL.maxTelegram + 1)
        tx.initialize(repeating: 0, count: FDL.maxTelegram + 1)
        rx = .allocate(capacity: Self.rxCapacity)
        rx.initialize(repeating: 0, count: Self.rxCapacity)
        words = .allocate(capacity: 4)
        words.initialize(repeating: 0, count: 4)
        statistics = Mutex(line.slaves.map { DPSlaveStats(device: $0.name, address: $0.address) })
        bitNs = 1_000_000_000 / Int64(line.serial.baud)
        idleNs = Int64(33 + line.minTsdrBits) * 1_000_000_000 / Int64(line.serial.baud)
        let slotNs = Int64(line.slotTimeBits) * 1_000_000_000 / Int64(line.serial.baud)
        responseTimeoutNs = max(slotNs, Int64(line.responseTimeoutMs) * 1_000_000)
        reopenBackoffMs = line.reconnectMinMs
    }

    deinit {
        tx.deallocate()
        rx.deallocate()
        words.deallocate()
    }

    /// No progress for `limitNs` while not waiting (for the service watchdog).
    public func isStalled(limitNs: Int64) -> Bool { thread.isStalled(limitNs: limitNs) }

    /// The tags this master was built for (for reuse across a commit).
    public var ownTags: [Tag] { tags }

    /// Per-slave counters, in configuration order.
    public var stats: [DPSlaveStats] { statistics.withLock { $0 } }

    /// Line-wide counters: cycles, CPU time and octets.
    public var lineStats: DPLineStats { totals.withLock { $0 } }

    /// One slave's counters, without copying the others'.
    public func stats(slave: Int) -> DPSlaveStats { statistics.withLock { $0[slave] } }

    /// Completed Data_Exchange cycles of one slave. Allocates nothing.
    public func cycles(slave: Int) -> Int { statistics.withLock { $0[slave].cycles } }

    // MARK: Thread

    public func start() {
        thread.start(name: "rg-s-\(line.name)") { [self] in run() }
    }

    /// Stops the line after the current telegram: outputs are cleared with a
    /// Global_Control Clear_Data broadcast, queued writes fail.
    public func stop() {
        thread.stop(timeoutNs: responseTimeoutNs * Int64(line.slaves.count * (line.retries + 1) + 4) + 2_000_000_000)
    }

    private func run() {
        var cycleStart = Clock.monotonicNs()
        while thread.isRunning {
            guard let port = openIfNeeded() else {
                failPendingWrites("PROFIBUS line \(line.name) is down")
                thread.wait(untilMonotonicNs: reopenAtNs)
                continue
            }
            executePendingWrites()
            let cpuStart = rg_thread_cpu_ns()
            let wallStart = Clock.monotonicNs()
            let octetsBefore = octetsOnLine
            if line.freeze { globalControl(DP.ControlCommand.freeze, group: 0, port: port) }
            for index in slaves.indices where thread.isRunning {
                thread.beat()
                step(index, port: port)
                if lineDown { break }
            }
            if line.sync && !lineDown { globalControl(DP.ControlCommand.sync, group: 0, port: port) }
            engineWakeup.signal()
            let cpu = rg_thread_cpu_ns() - cpuStart
            let wall = Clock.monotonicNs() - wallStart
            let octets = octetsOnLine - octetsBefore
            totals.withLock { stats in
                stats.cycles += 1
                stats.cpuNs += cpu
                stats.wallNs += wall
                stats.octets += octets
                stats.lastCycleNs = wall
            }
            cycleStart += Int64(line.cycleMs) * 1_000_000
            let now = Clock.monotonicNs()
            if cycleStart < now { cycleStart = now }
            thread.wait(untilMonotonicNs: cycleStart)
        }
        if let port, !lineDown {
            // Outputs to their safe state before the master goes away.
            globalControl(DP.ControlCommand.clearData, group: 0, port: port)
        }
        port = nil
        failPendingWrites("the PROFIBUS line \(line.name) is stopping")
        for slave in slaves { slave.failWrites("the PROFIBUS line \(line.name) is stopping") }
    }

    private func openIfNeeded() -> SerialLine? {
        if let port, !lineDown { return port }
        port = nil
        guard Clock.monotonicNs() >= reopenAtNs else { return nil }
        do {
            let opened = try SerialLine(line.serial)
            if !openLogged {
                for warning in opened.warnings {
                    logger.warning("\(warning)", metadata: ["line": "\(line.name)"])
                }
                logger.info("PROFIBUS line open", metadata: [
                    "line": "\(line.name)", "device": "\(line.serial.device)", "baud": "\(line.serial.baud)",
                    "master": "\(line.masterAddress)"])
                openLogged = true
            }
            port = opened
            lineDown = false
            rxCount = 0
            return opened
        } catch {
            if !lineDown || slaves.allSatisfy({ $0.quality.reason == .waitingForInitialData }) {
                logger.error("PROFIBUS line cannot be opened; its tags are bad until it can",
                             metadata: ["line": "\(line.name)", "error": "\(error)"])
            }
            lineDown = true
            openLogged = false
            for index in slaves.indices {
                fault(index, "line \(line.serial.device): \(error)", quality: Quality(reason: .disconnected), restart: false)
            }
            engineWakeup.signal()
            reopenAtNs = Clock.monotonicNs() + Int64(reopenBackoffMs) * 1_000_000
            reopenBackoffMs = min(reopenBackoffMs * 2, line.reconnectMaxMs)
            return nil
        }
    }

    // MARK: Slave sequence (DPSlaveSequence decides, this drives the line)

    private func step(_ index: Int, port: SerialLine) {
        let slave = slaves[index]
        if slave.sequence.state != .dataExchange && Clock.monotonicNs() < slave.retryAtNs { return }
        var request = slave.sequence.request
        while true {
            if request == .dataExchange { return exchange(index, port: port) }
            let outcome = perform(request, index, port: port)
            let before = slave.sequence.state
            let next = slave.sequence.handle(outcome)
            if slave.sequence.state != before {
                let state = slave.sequence.state
                statistics.withLock { $0[index].state = state }
            }
            switch next {
            case .send(let following):
                request = following
            case .waitCycle:
                slave.retryAtNs = Clock.monotonicNs() + Int64(line.cycleMs) * 1_000_000
                return
            case .exchanging:
                logger.info("PROFIBUS slave in data exchange", metadata: [
                    "line": "\(line.name)", "slave": "\(slave.config.name)", "address": "\(slave.config.address)",
                    "inputs": "\(slave.config.inputBytes)", "outputs": "\(slave.config.outputBytes)"])
                slave.backoffMs = SlaveRuntime.minBackoffMs
                return
            case .fault(let reason, let quality):
                fault(index, reason, quality: quality, wasRunning: before == .dataExchange)
                return
            }
        }
    }

    /// Sends one request of the sequence and reads what came back.
    private func perform(_ request: DPSlaveSequence.Request, _ index: Int, port: SerialLine) -> DPSlaveSequence.Outcome {
        let slave = slaves[index]
        switch request {
        case .slaveDiagnosis:
            return readDiagnosis(index, port: port)
        case .setParameters:
            let reply = slave.setPrm.withUnsafeBufferPointer {
                transact(index, function: FDL.FC.srdHigh, dsap: DP.SAP.setParameters, data: $0.baseAddress, count: $0.count, port: port)
            }
            return Self.acknowledgement(reply)
        case .checkConfig:
            let reply = slave.config.configBytes.withUnsafeBufferPointer {
                transact(index, function: FDL.FC.srdHigh, dsap: DP.SAP.checkConfig, data: $0.baseAddress, count: $0.count, port: port)
            }
            return Self.acknowledgement(reply)
        case .getConfig:
            return .configuration(readConfiguration(index, port: port))
        case .dataExchange:
            preconditionFailure("Data_Exchange is sent by exchange(_:port:)")
        }
    }

    /// One Data_Exchange: outputs out, inputs back, tags decoded. HOT PATH.
    private func exchange(_ index: Int, port: SerialLine) {
        let slave = slaves[index]
        let started = Clock.monotonicNs()
        let reply = transact(index, function: FDL.FC.srdHigh, dsap: -1, data: slave.outputs,
                             count: slave.config.outputBytes, port: port)
        let timestamp = Clock.realtimeNs()
        switch reply {
        case .frame(let frame):
            let function = frame.function
            if frame.dsap >= 0 || (function != FDL.FC.dataLow && function != FDL.FC.dataHigh) {
                if function == FDL.FC.serviceNotActive || function == FDL.FC.noResource {
                    fault(index, "the slave is no longer in data exchange (it answers \"service not active\"; restarted?)",
                          quality: Quality(reason: .protocolError))
                } else {
                    fault(index, "unexpected answer to Data_Exchange (function code \(Hex.byte(frame.fc)))",
                          quality: Quality(reason: .protocolError))
                }
                return
            }
            guard frame.dataCount == slave.config.inputBytes else {
                fault(index, "Data_Exchange returned \(frame.dataCount) input octets, the modules describe \(slave.config.inputBytes)",
                      quality: Quality(reason: .protocolError))
                return
            }
            slave.inputs.update(from: rx + frame.dataOffset, count: frame.dataCount)
            if function == FDL.FC.dataHigh { slave.sequence.diagnosisRequested() }
        case .shortAck:
            guard slave.config.inputBytes == 0 else {
                fault(index, "the slave is no longer in data exchange (short acknowledgement instead of inputs)",
                      quality: Quality(reason: .protocolError))
                return
            }
        case .noAnswer(let quality):
            slave.failures += 1
            if slave.failures >= SlaveRuntime.failuresBeforeRestart {
                fault(index, "no valid answer to \(slave.failures) Data_Exchange requests in a row (\(quality.reasonText ?? "bad"))",
                      quality: quality)
            } else {
                markTags(index, quality: quality, timestamp: timestamp)
            }
            return
        }
        slave.failures = 0
        reopenBackoffMs = line.reconnectMinMs
        decodeTags(slave, timestamp: timestamp)
        slave.completeWrites()
        let elapsed = Clock.monotonicNs() - started
        let changed = !slave.quality.isGood
        slave.quality = .good
        statistics.withLock { stats in
            stats[index].cycles += 1
            stats[index].lastCycleNs = elapsed
            stats[index].maxCycleNs = max(stats[index].maxCycleNs, elapsed)
            if changed {
                stats[index].quality = .good
                stats[index].state = .dataExchange
            }
        }
    }

    /// Pushes every tag of a slave from its images. HOT PATH.
    private func decodeTags(_ slave: SlaveRuntime, timestamp: Int64) {
        for step in slave.steps {
            let image = step.output ? slave.outputs : slave.inputs
            let value: SampleValue
            switch step.type {
            case .bool:
                value = SampleValue(bool: image[step.byte] & (1 << UInt8(step.bit)) != 0)
            case .int8, .uint8:
                words[0] = UInt16(image[step.byte])
                value = RegisterCodec.decode(words, type: step.type, order: step.order, bit: 0, scaling: step.scaling)
            default:
                for word in 0..<step.words {
                    words[word] = UInt16(image[step.byte + 2 * word]) << 8 | UInt16(image[step.byte + 2 * word + 1])
                }
                value = RegisterCodec.decode(words, type: step.type, order: step.order, bit: 0, scaling: step.scaling)
            }
            ring.push(Sample(tag: step.tag, quality: .good, timestamp: timestamp, value: value))
        }
    }

    private func markTags(_ index: Int, quality: Quality, timestamp: Int64) {
        for step in slaves[index].steps {
            ring.push(Sample(tag: step.tag, quality: quality, timestamp: timestamp, value: .zero))
        }
    }

    /// Takes a slave back to the start of its sequence, marks its tags bad and
    /// logs the reason (once per distinct reason).
    /// - Parameter wasRunning: the slave was in data exchange (default: its state now).
    private func fault(_ index: Int, _ reason: String, quality: Quality, restart: Bool = true, wasRunning: Bool? = nil) {
        let slave = slaves[index]
        let wasRunning = wasRunning ?? (slave.sequence.state == .dataExchange)
        slave.sequence.reset()
        slave.fcbValid = false
        slave.failures = 0
        slave.failWrites("slave \(slave.config.name) left data exchange: \(reason)")
        if restart {
            slave.retryAtNs = Clock.monotonicNs() + Int64(slave.backoffMs) * 1_000_000
            slave.backoffMs = min(slave.backoffMs * 2, SlaveRuntime.maxBackoffMs)
        }
        if reason != slave.lastFault || wasRunning {
            logger.warning("PROFIBUS slave not in data exchange; its tags are bad", metadata: [
                "line": "\(line.name)", "slave": "\(slave.config.name)", "address": "\(slave.config.address)",
                "reason": "\(reason)"])
        }
        slave.lastFault = reason
        slave.quality = quality
        markTags(index, quality: quality, timestamp: Clock.realtimeNs())
        let now = Clock.realtimeNs()
        statistics.withLock { stats in
            stats[index].state = .offline
            stats[index].quality = quality
            stats[index].lastFault = reason
            stats[index].lastFaultAt = now
            if wasRunning { stats[index].restarts += 1 }
        }
        engineWakeup.signal()
    }

    // MARK: Services

    private func readDiagnosis(_ index: Int, port: SerialLine) -> DPSlaveSequence.Outcome {
        let slave = slaves[index]
        let reply = transact(index, function: FDL.FC.srdHigh, dsap: DP.SAP.slaveDiagnosis, data: nil, count: 0, port: port)
        switch reply {
        case .frame(let frame) where frame.ssap == DP.SAP.slaveDiagnosis && frame.dataCount >= 6:
            guard let diagnosis = DPDiagnosis(UnsafeBufferPointer(start: rx + frame.dataOffset, count: frame.dataCount)) else {
                return .refused("\(frame.dataCount) octets that are no diagnosis")
            }
            let text = diagnosis.description
            if text != slave.lastDiagnosis {
                slave.lastDiagnosis = text
                statistics.withLock { $0[index].lastDiagnosis = text }
                if diagnosis.extendedDiagnosis || !diagnosis.extended.isEmpty {
                    logger.warning("PROFIBUS slave reports diagnosis", metadata: [
                        "line": "\(line.name)", "slave": "\(slave.config.name)", "address": "\(slave.config.address)",
                        "diagnosis": "\(text)"])
                }
            }
            return .diagnosis(diagnosis)
        case .frame(let frame):
            return .refused("function code \(Hex.byte(frame.fc)) and \(frame.dataCount) octets")
        case .shortAck:
            return .refused("a short acknowledgement")
        case .noAnswer(let quality):
            return .noAnswer(quality)
        }
    }

    /// Get_Cfg: the identifier octets the slave actually has.
    private func readConfiguration(_ index: Int, port: SerialLine) -> [UInt8]? {
        let reply = transact(index, function: FDL.FC.srdHigh, dsap: DP.SAP.getConfig, data: nil, count: 0, port: port)
        guard case .frame(let frame) = reply, frame.ssap == DP.SAP.getConfig else { return nil }
        return Array(UnsafeBufferPointer(start: rx + frame.dataOffset, count: frame.dataCount))
    }

    /// A short acknowledgement (or an SD1 "OK") accepts Set_Prm and Chk_Cfg.
    private static func acknowledgement(_ reply: Reply) -> DPSlaveSequence.Outcome {
        switch reply {
        case .shortAck:
            return .acknowledged
        case .frame(let frame) where frame.function == FDL.FC.ok && frame.dataCount == 0:
            return .acknowledged
        case .frame(let frame):
            let why = switch frame.function {
            case FDL.FC.serviceNotActive: "service not active"
            case FDL.FC.noResource, FDL.FC.dataLowNoResource, FDL.FC.dataHighNoResource: "no resource"
            case FDL.FC.userError: "user error"
            default: "function code \(Hex.byte(frame.fc))"
            }
            return .refused(why)
        case .noAnswer(let quality):
            return .noAnswer(quality)
        }
    }

    /// Global_Control to a group (0 = all slaves): SDN to the broadcast address, no answer.
    private func globalControl(_ command: UInt8, group: UInt8, port: SerialLine) {
        tx[FDL.maxTelegram - 2] = command
        tx[FDL.maxTelegram - 1] = group
        let length = FDL.encode(into: tx, da: FDL.broadcast, sa: UInt8(line.masterAddress),
                                fc: FDL.FC.request | FDL.FC.sdnHigh, dsap: DP.SAP.globalControl, ssap: DP.SAP.master,
                                data: tx + FDL.maxTelegram - 2, dataCount: 2)
        Clock.sleep(untilMonotonicNs: lastFrameEndNs + idleNs)
        _ = port.write(tx, count: length)
        octetsOnLine += length
        lastFrameEndNs = Clock.monotonicNs() + Int64(length * 11) * bitNs
    }

    // MARK: FDL request/response

    enum Reply {
        case frame(FDLFrame)
        case shortAck
        case noAnswer(Quality)
    }

    /// Sends one SRD request (repeated up to `retries` times with the same
    /// FCB) and waits for the answer from that slave. HOT PATH.
    private func transact(_ index: Int, function: UInt8, dsap: Int, data: UnsafePointer<UInt8>?, count: Int,
                          port: SerialLine) -> Reply {
        let slave = slaves[index]
        var fc = FDL.FC.request | function
        if slave.fcbValid {
            fc |= FDL.FC.fcv | (slave.fcb ? FDL.FC.fcb : 0)
        } else {
            // First request after a restart: FCB = 1 with FCV = 0 resets the slave's frame count.
            fc |= FDL.FC.fcb
            slave.fcb = true
        }
        let length = FDL.encode(into: tx, da: UInt8(slave.config.address), sa: UInt8(line.masterAddress), fc: fc,
                                dsap: dsap, ssap: dsap >= 0 ? DP.SAP.master : -1, data: data, dataCount: count)
        var lastQuality = Quality(reason: .timeout)
        var sent = 0, received = 0, fcsErrors = 0, garbage = 0
        var attempt = 0
        var result: Reply?
        while attempt <= line.retries && result == nil {
            attempt += 1
            Clock.sleep(untilMonotonicNs: lastFrameEndNs + idleNs)
            // Octets before our request are noise or a late answer to an abandoned one.
            rxCount = 0
            port.discardInput()
            if port.write(tx, count: length) != 0 {
                lastQuality = Quality(reason: .disconnected)
                markLineDown()
                break
            }
            sent += length
            let deadline = Clock.monotonicNs() + Int64(length * 11) * bitNs + responseTimeoutNs
            receive: while true {
                parse: while rxCount > 0 {
                    switch FDL.decode(rx, count: rxCount) {
                    case .incomplete:
                        break parse
                    case .invalid(let fault, let skip):
                        if fault == .badChecksum || fault == .badEndDelimiter {
                            fcsErrors += 1
                            lastQuality = Quality(reason: .crc)
                        }
                        garbage += skip
                        consume(skip)
                    case .frame(let frame):
                        received += frame.length
                        if frame.kind == .shortAck {
                            result = .shortAck
                            break receive
                        }
                        if frame.kind != .token && !frame.isRequest && frame.sa == slave.config.address
                            && frame.da == UInt8(line.masterAddress) {
                            // The frame stays at the head of `rx` for the caller.
                            result = .frame(frame)
                            break receive
                        }
                        // Our own echo (half-duplex adapters) or other stations' traffic.
                        consume(frame.length)
                    }
                }
                let n = port.read(into: rx + rxCount, capacity: Self.rxCapacity - rxCount, deadlineNs: deadline)
                if n < 0 {
                    lastQuality = Quality(reason: .disconnected)
                    markLineDown()
                    break receive
                }
                if n == 0 {
                    if rxCount > 0 {
                        // A telegram cut short.
                        garbage += rxCount
                        rxCount = 0
                        if lastQuality.reason == .timeout { lastQuality = Quality(reason: .protocolError) }
                    }
                    break receive
                }
                rxCount += n
            }
            lastFrameEndNs = Clock.monotonicNs()
            if result == nil && lineDown { break }
        }
        if result != nil {
            slave.fcb.toggle()
            slave.fcbValid = true
        }
        let retries = attempt - 1
        let failed = result == nil
        octetsOnLine += sent + received
        statistics.withLock { stats in
            stats[index].requests += attempt
            stats[index].retries += retries
            stats[index].octetsSent += sent
            stats[index].octetsReceived += received
            stats[index].fcsErrors += fcsErrors
            stats[index].garbageOctets += garbage
            if failed { stats[index].errors += 1 }
        }
        return result ?? .noAnswer(lastQuality)
    }

    /// The port failed (a USB adapter unplugged, the far end of a PTY
    /// closed): reopen it after the backoff.
    private func markLineDown() {
        lineDown = true
        reopenAtNs = Clock.monotonicNs() + Int64(reopenBackoffMs) * 1_000_000
        reopenBackoffMs = min(reopenBackoffMs * 2, line.reconnectMaxMs)
    }

    private func consume(_ count: Int) {
        let take = min(count, rxCount)
        if take < rxCount { rx.update(from: rx + take, count: rxCount - take) }
        rxCount -= take
    }

    // MARK: Writes

    /// Queues a write to an output tag; it completes once the next
    /// Data_Exchange has carried it to the slave.
    public func submitWrite(tag: Int, value: WriteValue, completion: @escaping @Sendable (WriteOutcome) -> Void) {
        guard slaveIndex(ofTag: tag) != nil else {
            return completion(.refused("tag \(tag) does not belong to PROFIBUS line \(line.name)"))
        }
        guard thread.isRunning else {
            return completion(.failed("PROFIBUS line \(line.name) is not running"))
        }
        pendingWrites.append(tag: tag, value: value, completion: completion)
        wakeup.signal()
    }

    private func slaveIndex(ofTag tag: Int) -> Int? {
        slaves.firstIndex { tag >= $0.firstTag && tag < $0.firstTag + $0.config.tags.count }
    }

    private func failPendingWrites(_ why: String) { pendingWrites.failAll(why) }

    /// Applies queued writes to the output images (on the line thread).
    private func executePendingWrites() {
        for write in pendingWrites.takeAll() {
            guard let index = slaveIndex(ofTag: write.tag) else { continue }
            let slave = slaves[index]
            let config = slave.config.tags[write.tag - slave.firstTag]
            let target = "slave \(slave.config.name) (address \(slave.config.address)) output octet \(config.byte)"
            guard config.area == .output, config.writable else {
                write.completion(.refused("\(target): tag is not a writable output"))
                continue
            }
            guard slave.sequence.state == .dataExchange else {
                statistics.withLock { $0[index].writes += 1; $0[index].writeErrors += 1 }
                write.completion(.failed("\(target): the slave is not in data exchange (\(slave.lastFault ?? "starting"))"))
                continue
            }
            if let refusal = slave.apply(write.value, to: config, tag: tags[write.tag]) {
                write.completion(.refused("\(target): \(refusal)"))
                continue
            }
            statistics.withLock { $0[index].writes += 1 }
            slave.awaitingExchange.append(write.completion)
        }
    }
}

/// Line-thread state of one slave: sequence position, FCB, process images.
final class SlaveRuntime {
    /// Data_Exchange requests without a valid answer before the slave is
    /// restarted (each already repeated `retries` times).
    static let failuresBeforeRestart = 3
    /// A failed slave is asked again after 100 ms, doubling up to 1 s: an
    /// absent station costs at most one response timeout per second.
    static let minBackoffMs = 100
    static let maxBackoffMs = 1000

    struct Step {
        var tag: UInt32
        var output: Bool
        var byte: Int
        var bit: Int
        var words: Int
        var type: DataType
        var order: ByteOrder
        var scaling: Scaling
    }

    let config: ProfibusSlaveConfig
    let firstTag: Int
    let steps: [Step]
    let setPrm: [UInt8]
    let inputs: UnsafeMutablePointer<UInt8>
    let outputs: UnsafeMutablePointer<UInt8>
    /// Where the slave is on its way into data exchange (decisions only; this class holds the I/O state).
    var sequence: DPSlaveSequence
    var fcb = true
    var fcbValid = false
    var failures = 0
    var retryAtNs: Int64 = 0
    var backoffMs: Int
    var quality = Quality(reason: .waitingForInitialData)
    var lastFault: String?
    var lastDiagnosis: String?
    /// Writes applied to the output image, completed by the next Data_Exchange.
    var awaitingExchange: [@Sendable (WriteOutcome) -> Void] = []

    init(config: ProfibusSlaveConfig, firstTag: Int, line: ProfibusLineConfig) {
        self.config = config
        self.firstTag = firstTag
        steps = config.tags.enumerated().map { offset, tag in
            Step(tag: UInt32(firstTag + offset), output: tag.area == .output, byte: tag.byte, bit: tag.bit,
                 words: tag.type.registerCount(stringLength: 0), type: tag.type, order: tag.order,
                 scaling: tag.value.scaling)
        }
        setPrm = DP.setParameters(identNumber: config.identNumber, watchdogMs: config.watchdogMs,
                                  minTsdrBits: line.minTsdrBits, group: config.group, freeze: line.freeze,
                                  sync: line.sync, userParameters: config.userParameters)
        sequence = DPSlaveSequence(DPSlaveSequence.Expected(
            address: config.address, identNumber: config.identNumber, masterAddress: line.masterAddress,
            gsdFile: config.gsdFile, modules: config.modules, configBytes: config.configBytes, setPrm: setPrm))
        inputs = .allocate(capacity: max(1, config.inputBytes))
        inputs.initialize(repeating: 0, count: max(1, config.inputBytes))
        outputs = .allocate(capacity: max(1, config.outputBytes))
        outputs.initialize(repeating: 0, count: max(1, config.outputBytes))
        backoffMs = Self.minBackoffMs
    }

    deinit {
        inputs.deallocate()
        outputs.deallocate()
    }

    func completeWrites() {
        guard !awaitingExchange.isEmpty else { return }
        let done = awaitingExchange
        awaitingExchange = []
        for completion in done { completion(.done) }
    }

    func failWrites(_ why: String) {
        guard !awaitingExchange.isEmpty else { return }
        let failed = awaitingExchange
        awaitingExchange = []
        for completion in failed { completion(.failed(why)) }
    }

    /// Encodes a value into the output image. Returns why not, or nil.
    func apply(_ value: WriteValue, to tag: ProfibusTagConfig, tag info: Tag) -> String? {
        if tag.type == .bool {
            let flag: Bool
            switch value {
            case .bool(let b): flag = b
            case .number(let n) where n == 0 || n == 1: flag = n == 1
            default: return "a bool takes true or false, not \(value)"
            }
            let mask = UInt8(1) << UInt8(tag.bit)
            outputs[tag.byte] = flag ? outputs[tag.byte] | mask : outputs[tag.byte] & ~mask
            return nil
        }
        let encoded: [UInt16]
        do {
            encoded = try RegisterCodec.encode(value, for: info)
        } catch {
            return "\(error)"
        }
        if tag.type == .int8 || tag.type == .uint8 {
            outputs[tag.byte] = UInt8(truncatingIfNeeded: encoded[0])
        } else {
            for (index, word) in encoded.enumerated() {
                outputs[tag.byte + 2 * index] = UInt8(word >> 8)
                outputs[tag.byte + 2 * index + 1] = UInt8(word & 0xFF)
            }
        }
        return nil
    }
}
