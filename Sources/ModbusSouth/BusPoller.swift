import FoundationEssentials
import Logging
import RailgateConfig
import RailgateCore
import Synchronization

/// Polls every device of one bus on its own OS thread (`rg-s-<bus>`), pushes
/// samples into the bus's `SampleRing`, and executes queued writes between
/// cycles.
///
/// HOT PATH: `pollDevice` and what it calls run every cycle and allocate
/// nothing: reads land in buffers allocated here, decode steps are trivial
/// values, samples go into the preallocated ring, and the log is written only
/// when a device changes state. Guarded by the `SamplingLoop` benchmark.
public final class BusPoller: @unchecked Sendable, TagWriteTarget {
    public let bus: BusConfig
    public let ring: SampleRing
    public let plans: [ReadPlan]
    private let firstTag: Int
    private let tags: [Tag]
    private let engineWakeup: Wakeup
    private let logger: Logger

    // Owned by the bus thread.
    private var connection: ModbusConnection?
    private let registers: UnsafeMutablePointer<UInt16>
    private let bits: UnsafeMutablePointer<UInt8>
    private let text: UnsafeMutablePointer<UInt8>
    private var nextDue: [Int64]
    private var deviceQuality: [Quality]
    private var lastFrameEnd: Int64 = 0
    private var busDown = false
    /// Timeouts in a row on this bus, whatever the device.
    private var consecutiveTimeouts = 0
    /// A device answered since the connection was last opened (the reconnect backoff restarts).
    private var answeredSinceOpen = false
    /// A TCP connection whose last this-many requests all timed out is
    /// reopened: the peer may have restarted without a reset (half-open).
    static let timeoutsBeforeReconnect = 3

    // Shared with other threads.
    private let statistics: Mutex<[DeviceStats]>
    private let pendingWrites = WriteQueue()
    private let pendingReads = PendingQueue<DiagnosticRead>()
    private let thread = SouthThread()
    private var wakeup: Wakeup { thread.wakeup }

    /// - Parameters:
    ///   - firstTag: gateway tag index of the bus's first tag.
    ///   - tags: the gateway's tag list (for write encoding and messages).
    ///   - engineWakeup: signalled after each device cycle.
    public init(bus: BusConfig, firstTag: Int, tags: [Tag], engineWakeup: Wakeup, logger: Logger) {
        self.bus = bus
        self.firstTag = firstTag
        self.tags = tags
        self.engineWakeup = engineWakeup
        self.logger = logger
        var plans: [ReadPlan] = []
        var next = firstTag
        var tagCount = 0
        var longestString = 0
        for device in bus.devices {
            plans.append(ReadPlan(device: device, firstTag: next))
            next += device.tags.count
            tagCount += device.tags.count
            longestString = max(longestString, device.tags.map { $0.type == .string ? $0.length * 2 : 0 }.max() ?? 0)
        }
        self.plans = plans
        // Room for at least three full cycles of every tag (a power of two: 3 to 6), so a busy
        // engine never makes the bus drop samples.
        ring = SampleRing(minimumCapacity: max(256, tagCount * 3), slotBytes: longestString)
        registers = .allocate(capacity: 125)
        registers.initialize(repeating: 0, count: 125)
        bits = .allocate(capacity: 2000)
        bits.initialize(repeating: 0, count: 2000)
        text = .allocate(capacity: max(1, longestString))
        text.initialize(repeating: 0, count: max(1, longestString))
        nextDue = Array(repeating: 0, count: bus.devices.count)
        deviceQuality = Array(repeating: Quality(reason: .waitingForInitialData), count: bus.devices.count)
        statistics = Mutex(bus.devices.map { DeviceStats(device: $0.name) })
    }

    deinit {
        registers.deallocate()
        bits.deallocate()
        text.deallocate()
    }

    var firstTagIndex: Int { firstTag }
    /// The tags this poller was built for (for reuse across a commit).
    public var ownTags: [Tag] { tags }
    var isRunning: Bool { thread.isRunning }
    /// No progress for `limitNs` while not waiting (for the service watchdog).
    public func isStalled(limitNs: Int64) -> Bool { thread.isStalled(limitNs: limitNs) }
    func tagInfo(_ index: Int) -> Tag { tags[index] }

    func enqueue(tag: Int, value: WriteValue, completion: @escaping @Sendable (WriteOutcome) -> Void) {
        pendingWrites.append(tag: tag, value: value, completion: completion)
        wakeup.signal()
    }

    func enqueue(_ read: DiagnosticRead) {
        guard pendingReads.append(read) else {
            return read.completion(.failure(DiagnosticReadError(description: "bus \(bus.name): \(pendingReads.limit) diagnostic reads are waiting already")))
        }
        wakeup.signal()
    }

    /// Writes run between polls at most this many at a time: a burst of writes delays the
    /// polling of the bus's devices by a few transactions, not by the whole burst.
    static let writesPerTurn = 32

    /// Runs queued diagnostic reads on the bus thread.
    private func executeDiagnosticReads(_ connection: ModbusConnection) {
        for read in pendingReads.takeAll() {
            if connection.isSerial { Clock.sleep(untilMonotonicNs: lastFrameEnd + connection.interFrameNs) }
            execute(read, on: connection, registers: registers, bits: bits)
            lastFrameEnd = Clock.monotonicNs()
        }
    }

    /// Runs queued writes on the bus thread; a device written to is read
    /// again at once so the new value shows without waiting a poll period.
    /// A whole turn's worth taken means more may wait: the loop comes round again at once.
    private func executePendingWrites(_ connection: ModbusConnection) {
        let writes = pendingWrites.take(upTo: Self.writesPerTurn)
        defer { if writes.count == Self.writesPerTurn { wakeup.signal() } }
        for write in writes {
            if connection.isSerial {
                Clock.sleep(untilMonotonicNs: lastFrameEnd + connection.interFrameNs)
            }
            let outcome = connection.isOpen
                ? execute(tag: write.tag, value: write.value, on: connection)
                : .failed("bus \(bus.name) is disconnected")
            lastFrameEnd = Clock.monotonicNs()
            if let device = location(ofTag: write.tag)?.device {
                // Refusals (a value the tag cannot hold) never reached the device.
                if case .refused = outcome {} else {
                    statistics.withLock { stats in
                        stats[device].writes += 1
                        if outcome != .done { stats[device].writeErrors += 1 }
                    }
                }
                if outcome == .done { nextDue[device] = Clock.monotonicNs() }
            }
            write.completion(outcome)
        }
    }

    /// Answers queued writes and diagnostic reads with `failed(why)`.
    private func failPendingWrites(_ why: String) {
        pendingWrites.failAll(why)
        for read in pendingReads.takeAll() { read.completion(.failure(DiagnosticReadError(description: why))) }
    }

    /// Completed cycles of one device. Allocates nothing (for benchmarks).
    public func cycles(device: Int) -> Int {
        statistics.withLock { $0[device].cycles }
    }

    /// One device's counters, without copying the others'.
    public func stats(device: Int) -> DeviceStats {
        statistics.withLock { $0[device] }
    }

    /// Per-device counters, in configuration order.
    public var stats: [DeviceStats] { statistics.withLock { $0 } }

    // MARK: Thread

    /// Starts the bus thread.
    public func start() {
        thread.start(name: "rg-s-\(bus.name)") { [self] in run() }
    }

    /// Stops the bus thread after its current request and closes the line.
    /// Queued writes are answered with `failed`.
    public func stop() {
        thread.stop(timeoutNs: Int64(bus.timeoutMs) * 4_000_000 + 2_000_000_000)
    }

    private func run() {
        var backoffMs = bus.reconnectMinMs
        // The connection was open at the last turn; a device answered since it was opened.
        var wasOpen = false
        while thread.isRunning {
            if wasOpen, let connection, !connection.isOpen {
                wasOpen = false
                // Broken before any device answered (a peer that accepts and closes, a gateway
                // whose line is dead): reopened after the same backoff as a connection refused.
                if !answeredSinceOpen {
                    thread.wait(untilMonotonicNs: Clock.monotonicNs() + Int64(backoffMs) * 1_000_000)
                    backoffMs = min(backoffMs * 2, bus.reconnectMaxMs)
                    continue
                }
            }
            guard let connection = openIfNeeded() else {
                thread.wait(untilMonotonicNs: Clock.monotonicNs() + Int64(backoffMs) * 1_000_000)
                backoffMs = min(backoffMs * 2, bus.reconnectMaxMs)
                continue
            }
            if !wasOpen {
                wasOpen = true
                answeredSinceOpen = false
            }
            if answeredSinceOpen { backoffMs = bus.reconnectMinMs }
            executePendingWrites(connection)
            executeDiagnosticReads(connection)
            let now = Clock.monotonicNs()
            var device = 0
            for index in 1..<max(1, nextDue.count) where nextDue[index] < nextDue[device] { device = index }
            if nextDue[device] > now {
                thread.wait(untilMonotonicNs: nextDue[device])
                continue
            }
            pollDevice(device, connection)
            reschedule(device)
        }
        connection?.close()
        connection = nil
        failPendingWrites("the bus \(bus.name) is stopping")
    }

    /// Opens the connection (or line) when it is down. Logs only transitions.
    private func openIfNeeded() -> ModbusConnection? {
        if let connection, connection.isOpen { return connection }
        do throws(ModbusError) {
            let candidate: ModbusConnection
            if let connection { candidate = connection } else {
                candidate = try ModbusConnection(link: bus.link, timeoutMs: bus.timeoutMs)
            }
            connection = candidate
            if let code = candidate.open() {
                markBusDown(errno: code)
                failPendingWrites("bus \(bus.name) is disconnected: \(ModbusErrno.message(code))")
                return nil
            }
            if case .rtu(let serial) = bus.link, serial.rs485, let code = candidate.enableRS485() {
                logger.warning("RS-485 mode not available; continuing in RS-232 mode",
                               metadata: ["bus": "\(bus.name)", "device": "\(serial.device)",
                                          "error": "\(ModbusErrno.message(code))"])
            }
            if busDown || deviceQuality.allSatisfy({ $0.reason == .waitingForInitialData }) {
                logger.info("bus connected", metadata: ["bus": "\(bus.name)", "link": "\(linkDescription)"])
            }
            busDown = false
            let now = Clock.monotonicNs()
            for index in nextDue.indices { nextDue[index] = now }
            return candidate
        } catch {
            markBusDown(errno: error.errno)
            failPendingWrites("bus \(bus.name): \(error)")
            return nil
        }
    }

    private var linkDescription: String {
        switch bus.link {
        case .tcp(let host, let port): "\(host):\(port)"
        case .rtu(let serial): "\(serial.device) \(serial.baud) \(serial.dataBits)\(serial.parity.rawValue)\(serial.stopBits)"
        }
    }

    private func markBusDown(errno code: Int32) {
        let now = Clock.realtimeNs()
        let quality = Quality(reason: .disconnected)
        if !busDown {
            logger.error("bus disconnected; its tags are bad until it reconnects",
                         metadata: ["bus": "\(bus.name)", "link": "\(linkDescription)",
                                    "error": "\(ModbusErrno.message(code))"])
        }
        busDown = true
        for device in plans.indices {
            deviceQuality[device] = quality
            for step in plans[device].steps {
                ring.push(Sample(tag: step.tag, quality: quality, timestamp: now, value: .zero))
            }
        }
        statistics.withLock { stats in
            for index in stats.indices {
                stats[index].quality = quality
                stats[index].lastErrno = code
                stats[index].lastErrorAt = now
            }
        }
        engineWakeup.signal()
    }

    private func reschedule(_ device: Int) {
        let period = Int64(bus.devices[device].pollMs) * 1_000_000
        let now = Clock.monotonicNs()
        nextDue[device] += period
        if nextDue[device] <= now {
            // Overran: skip the missed cycles instead of bursting to catch up.
            let missed = (now - nextDue[device]) / period + 1
            nextDue[device] += missed * period
            statistics.withLock { $0[device].missedDeadlines += Int(missed) }
        }
    }

    // MARK: Sampling loop (HOT PATH)

    /// Reads every planned request of one device and pushes its samples.
    private func pollDevice(_ device: Int, _ connection: ModbusConnection) {
        let plan = plans[device]
        let started = Clock.monotonicNs()
        var requests = 0
        var errors = 0
        var cycleQuality = Quality.good
        var failure: Int32 = 0
        for read in plan.reads {
            thread.beat()
            if connection.isSerial {
                Clock.sleep(untilMonotonicNs: lastFrameEnd + connection.interFrameNs)
            }
            let error = connection.read(read.table, unit: plan.unit, start: read.start, count: read.count,
                                        registers: registers, bits: bits)
            lastFrameEnd = Clock.monotonicNs()
            let timestamp = Clock.realtimeNs()
            requests += 1
            if let error {
                errors += 1
                failure = error
                let quality = ModbusErrno.quality(error)
                cycleQuality = quality
                for index in read.steps {
                    ring.push(Sample(tag: plan.steps[index].tag, quality: quality, timestamp: timestamp, value: .zero))
                }
                if ModbusErrno.needsReconnect(error) {
                    connection.close()
                    break
                }
                if quality.reason == .timeout {
                    consecutiveTimeouts += 1
                    if !connection.isSerial && consecutiveTimeouts >= Self.timeoutsBeforeReconnect {
                        // Reopened at once by the run loop; tags keep their timeout quality.
                        consecutiveTimeouts = 0
                        connection.close()
                        break
                    }
                }
                // A late answer would be taken for the next request's: drop it.
                connection.flush()
            } else {
                consecutiveTimeouts = 0
                answeredSinceOpen = true
                decode(read, plan: plan, timestamp: timestamp)
            }
        }
        engineWakeup.signal()
        let elapsed = Clock.monotonicNs() - started
        statistics.withLock { stats in
            stats[device].requests += requests
            stats[device].errors += errors
            stats[device].cycles += 1
            stats[device].lastCycleNs = elapsed
            stats[device].maxCycleNs = max(stats[device].maxCycleNs, elapsed)
            stats[device].quality = cycleQuality
            if failure != 0 {
                stats[device].lastErrno = failure
                stats[device].lastErrorAt = Clock.realtimeNs()
            }
        }
        if cycleQuality != deviceQuality[device] {
            logStateChange(device, quality: cycleQuality, errno: failure)
            deviceQuality[device] = cycleQuality
        }
        if !connection.isOpen && ModbusErrno.needsReconnect(failure) { markBusDown(errno: failure) }
    }

    @inline(__always)
    private func decode(_ read: PlannedRead, plan: ReadPlan, timestamp: Int64) {
        for index in read.steps {
            let step = plan.steps[index]
            if read.table.isBits {
                ring.push(Sample(tag: step.tag, quality: .good, timestamp: timestamp,
                                 value: SampleValue(bool: bits[step.offset] != 0)))
            } else if step.type == .string {
                let length = RegisterCodec.decodeString(registers + step.offset, count: step.stringLength,
                                                        order: step.order, into: text)
                ring.push(Sample(tag: step.tag, quality: .good, timestamp: timestamp, value: .zero),
                          text: UnsafeRawBufferPointer(start: text, count: length))
            } else {
                let value = RegisterCodec.decode(registers + step.offset, type: step.type, order: step.order,
                                                 bit: step.bit, scaling: step.scaling)
                ring.push(Sample(tag: step.tag, quality: .good, timestamp: timestamp, value: value))
            }
        }
    }

    private func logStateChange(_ device: Int, quality: Quality, errno code: Int32) {
        let name = bus.devices[device].name
        if quality.isGood {
            logger.info("device answering", metadata: ["bus": "\(bus.name)", "device": "\(name)"])
        } else {
            logger.warning("device failing; its tags are bad",
                           metadata: ["bus": "\(bus.name)", "device": "\(name)", "unit": "\(plans[device].unit)",
                                      "quality": "\(quality)", "error": "\(ModbusErrno.message(code))"])
        }
    }
}
