import Glibc
import Logging
import RailgateConfig
import RailgateCore
import Synchronization

/// Counters of one CAN bus, readable from any thread.
public struct CANBusStats: Sendable, Equatable {
    public var frames = 0
    /// Frames whose id no configured message has (not passed by the kernel filter on seqpacket sources).
    public var unknown = 0
    public var errorFrames = 0
    /// Frames shorter than one of their signals needs.
    public var shortFrames = 0
    public var timeouts = 0
    public var reopens = 0
    public var writes = 0
    public var writeErrors = 0
    public var lastError: String?
    /// The interface or socket is not open.
    public var down = true
    /// A bus-off error frame came, and no frame since.
    public var busOff = false
}

/// One CAN bus: its thread (`rg-s-<bus>`) reads frames from a SocketCAN
/// interface (or a seqpacket socket), decodes the signals of the configured
/// messages with the DBC's layouts and pushes one sample per signal into
/// the ring. A message not seen within its timeout makes its tags Bad.
///
/// HOT PATH: `handle(frame:)` and everything it calls allocates nothing;
/// the tables are built in `init`.
public final class CANBus: TagWriteTarget, @unchecked Sendable {
    public let bus: CANBusConfig
    public let ring: SampleRing
    private let tags: [Tag]
    private let engineWakeup: Wakeup
    private let logger: Logger
    private let thread = SouthThread()

    /// One configured message, compiled.
    struct Entry {
        var name: String
        var device: Int
        var firstTag: Int
        var codecs: [SignalCodec]
        var multiplex: [DBCFile.Signal.Multiplex]
        /// Index of the multiplexer signal among `codecs`, if any.
        var multiplexer: Int?
        var timeoutNs: Int64
        var id: UInt32
        var extended: Bool
        var length: Int
        /// Resend period of a written message, ns (0: sent once per write).
        var periodNs: Int64
    }

    private let entries: [Entry]
    /// (id | CAN_EFF_FLAG for extended ids) → entry; on J1939 buses
    /// PGN << 8 | source address, and PGN << 8 | 0xFF for devices of any address.
    private let byKey: [UInt32: Int]
    private let anyAddress: UInt32 = 0xFF
    // Owned by the bus thread.
    private var lastSeen: [Int64]
    private var timedOut: [Bool]
    private var source: CANFrameSource?
    private var reopenAtNs: Int64 = 0
    private var backoffMs: Int
    private var lastLoggedError: String?
    private let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: SocketCAN.fdFrameSize, alignment: 8)
    /// The last written frame record of each message (72 bytes each), and
    /// when a periodic one is due again (0: not sending).
    private let sent: UnsafeMutableRawBufferPointer
    private var nextSendNs: [Int64]
    /// Set by a bus-off error frame until frames flow again.
    private var busOff = false
    /// Bitrate and restart-ms were applied (or tried) for this bus thread.
    private var configured = false
    private let pending = PendingQueue<PendingWrite>()
    private let statistics = Mutex(CANBusStats())
    /// Per device: frames received and messages overdue (guarded by
    /// `statistics`' lock; fixed storage, so the bus thread never reallocates it).
    private struct DeviceCounters {
        var frames = 0
        var overdue = 0
    }
    private let counters: UnsafeMutableBufferPointer<DeviceCounters>

    public init(bus: CANBusConfig, tags: [Tag], engineWakeup: Wakeup, logger: Logger) {
        self.bus = bus
        self.tags = tags
        self.engineWakeup = engineWakeup
        self.logger = logger
        backoffMs = bus.reconnectMinMs
        var entries: [Entry] = []
        var byKey: [UInt32: Int] = [:]
        var next = 0
        for (deviceIndex, device) in bus.devices.enumerated() {
            for (index, message) in device.messages.enumerated() {
                let codecs = message.signals.map(SignalCodec.init)
                entries.append(Entry(name: message.name, device: deviceIndex, firstTag: next, codecs: codecs,
                                     multiplex: message.signals.map(\.multiplex),
                                     multiplexer: message.signals.firstIndex { $0.multiplex == .multiplexer },
                                     timeoutNs: Int64(device.timeoutMs[index]) * 1_000_000, id: message.id,
                                     extended: message.extended, length: message.length,
                                     periodNs: Int64(device.sendPeriodMs[message.name] ?? 0) * 1_000_000))
                if bus.j1939 {
                    let address = device.sourceAddress.map(UInt32.init) ?? 0xFF
                    byKey[J1939.pgn(message.id) << 8 | address] = entries.count - 1
                } else {
                    byKey[message.extended ? message.id | SocketCAN.effFlag : message.id] = entries.count - 1
                }
                next += codecs.count
            }
        }
        self.entries = entries
        self.byKey = byKey
        lastSeen = Array(repeating: 0, count: entries.count)
        nextSendNs = Array(repeating: 0, count: entries.count)
        sent = .allocate(byteCount: max(1, entries.count) * SocketCAN.fdFrameSize, alignment: 8)
        sent.initializeMemory(as: UInt8.self, repeating: 0)
        timedOut = Array(repeating: false, count: entries.count)
        ring = SampleRing(minimumCapacity: max(256, next * 8))
        counters = .allocate(capacity: max(1, bus.devices.count))
        counters.initialize(repeating: DeviceCounters())
        frame.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        frame.deallocate()
        sent.deallocate()
        counters.deallocate()
    }

    /// A device's health for north (OPC UA device objects): Bad while the bus
    /// is down or one of its messages is overdue; `requests` counts its frames.
    public func health(device: Int) -> DeviceHealth {
        let (bus, frames, overdue) = statistics.withLock { ($0, counters[device].frames, counters[device].overdue) }
        let quality = bus.down || bus.busOff ? Quality(reason: .disconnected)
            : overdue > 0 ? Quality(reason: .timeout) : frames == 0 ? Quality(reason: .waitingForInitialData) : .good
        return DeviceHealth(quality: quality, requests: frames, errors: overdue, lastError: bus.lastError, lastCycleNs: 0)
    }

    public var ownTags: [Tag] { tags }
    public var stats: CANBusStats { statistics.withLock { $0 } }
    public func isStalled(limitNs: Int64) -> Bool { thread.isStalled(limitNs: limitNs) }

    public func start() {
        thread.start(name: "rg-s-\(bus.name)") { [self] in run() }
    }

    public func stop() {
        thread.stop(timeoutNs: 2_000_000_000)
        pending.failAll("the CAN bus stopped")
    }

    public func submitWrite(tag: Int, value: WriteValue, completion: @escaping @Sendable (WriteOutcome) -> Void) {
        pending.append(tag: tag, value: value, completion: completion)
        thread.wakeup.signal()
    }

    // MARK: Bus thread

    private func run() {
        let start = Clock.monotonicNs()
        for index in lastSeen.indices { lastSeen[index] = start }
        while thread.isRunning {
            thread.beat()
            guard let source = openIfNeeded() else {
                thread.wait(untilMonotonicNs: reopenAtNs)
                continue
            }
            executePendingWrites(source)
            recoverFromBusOff()
            let n = source.read(into: frame, timeoutMs: sendPeriodic(source, now: Clock.monotonicNs()))
            if n < 0 {
                lost("the interface or socket closed or failed (errno \(errno))")
                continue
            }
            var pushed = false
            if n > 0 { pushed = handle(length: n) }
            if checkTimeouts(now: Clock.monotonicNs()) { pushed = true }
            if pushed { engineWakeup.signal() }
        }
        source = nil
    }

    private func openIfNeeded() -> CANFrameSource? {
        if let source { return source }
        guard Clock.monotonicNs() >= reopenAtNs else { return nil }
        if case .interface(let name) = bus.source, !configured {
            // Set the bitrate once, when the process may; otherwise the
            // interface is used as the system set it up, with a warning.
            configured = true
            do {
                try CANInterfaceControl.configure(name, bitrate: bus.bitrate, restartMs: bus.restartMs)
            } catch {
                logger.warning("CAN interface not configured; using its current settings",
                               metadata: ["bus": "\(bus.name)", "error": "\(error)"])
            }
        }
        do {
            let opened = try CANFrameSource.open(bus, ids: bus.j1939 ? [] : entries.map { ($0.id, $0.extended) })
            source = opened
            statistics.withLock { $0.down = false }
            backoffMs = bus.reconnectMinMs
            lastLoggedError = nil
            var metadata: Logger.Metadata = ["bus": "\(bus.name)", "source": "\(opened.description)"]
            if case .interface(let name) = bus.source {
                metadata["bitrate"] = "\(CANInterfaceControl.bitrate(name).map(String.init) ?? "unknown")"
                metadata["state"] = "\(CANInterfaceControl.state(name).map(String.init) ?? "unknown")"
            }
            logger.info("CAN bus open", metadata: metadata)
            return opened
        } catch {
            fail(error.description)
            return nil
        }
    }

    /// The source failed: every tag Bad (disconnected), reopened after a backoff.
    private func lost(_ reason: String) {
        source = nil
        statistics.withLock { $0.reopens += 1 }
        fail(reason)
    }

    private func fail(_ reason: String) {
        statistics.withLock {
            $0.lastError = reason
            $0.down = true
        }
        if lastLoggedError != reason {
            logger.error("CAN bus down; its tags are bad until it comes back", metadata: ["bus": "\(bus.name)", "error": "\(reason)"])
            lastLoggedError = reason
        }
        markAll(Quality(reason: .disconnected))
        engineWakeup.signal()
        reopenAtNs = Clock.monotonicNs() + Int64(backoffMs) * 1_000_000
        backoffMs = min(backoffMs * 2, bus.reconnectMaxMs)
    }

    /// Once a second on a SocketCAN interface: a controller that went
    /// bus-off is restarted (when the kernel's restart-ms does not do it).
    private var nextStateCheckNs: Int64 = 0

    private func recoverFromBusOff() {
        guard case .interface(let name) = bus.source, bus.restartMs == nil else { return }
        let now = Clock.monotonicNs()
        guard now >= nextStateCheckNs else { return }
        nextStateCheckNs = now + 1_000_000_000
        guard CANInterfaceControl.state(name) == SocketCAN.stateBusOff else { return }
        let restarted = CANInterfaceControl.restart(name)
        statistics.withLock { $0.lastError = "bus-off\(restarted ? "; restarted" : "; restart failed (needs CAP_NET_ADMIN)")" }
        logger.warning("CAN controller bus-off", metadata: ["bus": "\(bus.name)", "interface": "\(name)",
                                                           "restarted": "\(restarted)"])
    }

    // MARK: Sampling loop (HOT PATH)

    /// Decodes the frame record in `frame`; true when samples were pushed.
    @inline(__always)
    private func handle(length n: Int) -> Bool {
        guard n >= 8 else { return false }
        let canId = frame.load(fromByteOffset: 0, as: UInt32.self)
        let isError = canId & SocketCAN.errFlag != 0
        statistics.withLock {
            $0.frames += 1
            if isError { $0.errorFrames += 1 }
        }
        if isError {
            // CAN_ERR_BUSOFF: the controller left the bus; nothing it reads is current.
            if canId & 0x40 != 0 && !busOff {
                busOff = true
                markAll(Quality(reason: .disconnected))
                statistics.withLock { $0.busOff = true }
                return true
            }
            return false
        }
        if canId & SocketCAN.rtrFlag != 0 { return false }
        let extended = canId & SocketCAN.effFlag != 0
        let found: Int?
        if bus.j1939 {
            let id = canId & SocketCAN.effMask
            let pgn = J1939.pgn(id)
            found = extended ? (byKey[pgn << 8 | J1939.sourceAddress(id)] ?? byKey[pgn << 8 | anyAddress]) : nil
        } else {
            found = byKey[extended ? canId & (SocketCAN.effMask | SocketCAN.effFlag) : canId & SocketCAN.sffMask]
        }
        guard let index = found else {
            statistics.withLock { $0.unknown += 1 }
            return false
        }
        let declared = Int(frame.load(fromByteOffset: 4, as: UInt8.self))
        let available = min(declared, n - 8, SocketCAN.fdFrameSize - 8)
        let data = UnsafeRawBufferPointer(rebasing: frame[8..<(8 + max(0, available))])
        let entry = entries[index]
        let now = Clock.realtimeNs()
        if busOff {
            busOff = false
            statistics.withLock { $0.busOff = false }
        }
        var muxValue: UInt64?
        if let multiplexer = entry.multiplexer { muxValue = entry.codecs[multiplexer].raw(data) }
        var short = false
        for signal in entry.codecs.indices {
            if case .multiplexed(let wanted) = entry.multiplex[signal], muxValue != wanted { continue }
            let tag = UInt32(entry.firstTag + signal)
            let codec = entry.codecs[signal]
            if let raw = codec.raw(data) {
                ring.push(Sample(tag: tag, quality: .good, timestamp: now, value: SampleValue(double: codec.physical(raw))))
            } else {
                short = true
                ring.push(Sample(tag: tag, quality: Quality(reason: .protocolError), timestamp: now, value: .zero))
            }
        }
        lastSeen[index] = Clock.monotonicNs()
        let recovered = timedOut[index]
        timedOut[index] = false
        statistics.withLock {
            if short { $0.shortFrames += 1 }
            counters[entry.device].frames += 1
            if recovered { counters[entry.device].overdue -= 1 }
        }
        return true
    }

    /// Pushes a Bad sample of `quality` for every signal of `entry`.
    @inline(__always)
    private func mark(_ entry: Entry, _ quality: Quality, timestamp: Int64) {
        for signal in entry.codecs.indices {
            ring.push(Sample(tag: UInt32(entry.firstTag + signal), quality: quality, timestamp: timestamp, value: .zero))
        }
    }

    /// Pushes a Bad sample of `quality` for every tag of the bus.
    private func markAll(_ quality: Quality) {
        let now = Clock.realtimeNs()
        for entry in entries { mark(entry, quality, timestamp: now) }
    }

    /// Marks the tags of messages overdue as Bad (timeout), once per outage.
    @inline(__always)
    private func checkTimeouts(now: Int64) -> Bool {
        var pushed = false
        for index in entries.indices where !timedOut[index] && now - lastSeen[index] > entries[index].timeoutNs {
            timedOut[index] = true
            pushed = true
            let entry = entries[index]
            mark(entry, Quality(reason: .timeout), timestamp: Clock.realtimeNs())
            statistics.withLock {
                $0.timeouts += 1
                counters[entry.device].overdue += 1
            }
        }
        return pushed
    }

    // MARK: Writes

    /// Sends each queued write as one frame of its message: the signal's raw
    /// value, the other signals as last written (zero before); a message with
    /// a send period is then repeated at that period.
    private func executePendingWrites(_ source: CANFrameSource) {
        for write in pending.takeAll() {
            guard let (index, signal) = locate(tag: write.tag) else {
                write.completion(.refused("no such CAN signal"))
                continue
            }
            let entry = entries[index]
            let codec = entry.codecs[signal]
            let value: Double
            switch write.value {
            case .number(let number): value = number
            case .bool(let flag): value = flag ? 1 : 0
            case .text:
                write.completion(.refused("a CAN signal takes a number"))
                continue
            }
            guard let raw = codec.raw(forPhysical: value) else {
                write.completion(.refused("\(value) is out of the signal's range"))
                continue
            }
            let record = entry.length > 8 ? SocketCAN.fdFrameSize : SocketCAN.frameSize
            let bytes = UnsafeMutableRawBufferPointer(rebasing: sent[(index * SocketCAN.fdFrameSize)..<(index * SocketCAN.fdFrameSize + record)])
            var id = entry.id
            if bus.j1939, let address = bus.devices[entry.device].sourceAddress {
                // A command to the device: its address as the destination of a PDU1 PGN.
                if (id >> 16) & 0xFF < 240 { id = (id & ~0xFF00) | UInt32(address) << 8 }
            }
            // The other signals keep the values last written (zero before).
            bytes.storeBytes(of: entry.extended ? id | SocketCAN.effFlag : id, toByteOffset: 0, as: UInt32.self)
            bytes.storeBytes(of: UInt8(entry.length), toByteOffset: 4, as: UInt8.self)
            codec.insert(raw, into: UnsafeMutableRawBufferPointer(rebasing: bytes[8..<(8 + entry.length)]))
            if source.write(UnsafeRawBufferPointer(bytes)) {
                statistics.withLock { $0.writes += 1 }
                if entry.periodNs > 0 { nextSendNs[index] = Clock.monotonicNs() + entry.periodNs }
                write.completion(.done)
            } else {
                statistics.withLock { $0.writeErrors += 1 }
                write.completion(.failed("sending the frame failed (errno \(errno))"))
            }
        }
    }

    /// Sends the periodic messages that are due; returns how long the next
    /// read may wait (ms) before one is due again.
    private func sendPeriodic(_ source: CANFrameSource, now: Int64) -> Int32 {
        var waitNs: Int64 = 50_000_000
        for index in entries.indices where entries[index].periodNs > 0 && nextSendNs[index] > 0 {
            if now >= nextSendNs[index] {
                let record = entries[index].length > 8 ? SocketCAN.fdFrameSize : SocketCAN.frameSize
                let offset = index * SocketCAN.fdFrameSize
                if !source.write(UnsafeRawBufferPointer(rebasing: sent[offset..<(offset + record)])) {
                    statistics.withLock { $0.writeErrors += 1 }
                }
                nextSendNs[index] = max(nextSendNs[index] + entries[index].periodNs, now + 1)
            }
            waitNs = min(waitNs, nextSendNs[index] - now)
        }
        return Int32(max(0, waitNs / 1_000_000))
    }

    private func locate(tag: Int) -> (Int, Int)? {
        for (index, entry) in entries.enumerated() where tag >= entry.firstTag && tag < entry.firstTag + entry.codecs.count {
            return (index, tag - entry.firstTag)
        }
        return nil
    }
}
