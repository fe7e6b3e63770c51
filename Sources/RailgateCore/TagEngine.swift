import Glibc
import Synchronization

/// Counters of the engine, readable from any thread.
public struct TagEngineStats: Sendable, Equatable {
    public var samples: Int
    public var changes: Int
    /// Samples lost because a bus ring was full.
    public var ringOverruns: Int
    /// Changes lost because a sink queue was full.
    public var sinkOverruns: Int
}

/// Drains the bus rings, applies deadband and quality rules, updates the
/// `TagTable` and fans changes out to the sinks' `ChangeQueue`s.
///
/// A change is emitted when a tag is seen for the first time, when its
/// quality changes, or when a good (or uncertain) value moves by more than the
/// tag's deadband from the last emitted value (any change when the deadband is 0).
/// A good value its tag's code map does not list becomes uncertain (unmapped code).
///
/// A good tag whose last sample is older than its deadline (`maxAgesNs`: the
/// longest its bus can take to read it again) goes Bad (timeout), value kept,
/// until a new sample comes: north never serves a frozen value as good when a
/// bus thread is stuck.
public final class TagEngine: @unchecked Sendable {
    public let table: TagTable
    private let rings: [SampleRing]
    /// Gateway index of each ring's tag 0: south threads number their own
    /// tags from 0, so one that keeps running across a commit needs no change.
    private let ringBases: [UInt32]
    private let sinks: [ChangeQueue]
    /// Edge KPIs computed from the samples applied here, published as tags of this table.
    public let kpi: KPIEngine?
    /// Alarms on tags of this table, whose state tags are tags of this table.
    public let alarms: AlarmEngine?
    /// Bus threads signal this after pushing a cycle's samples.
    public let wakeup: Wakeup

    /// What was last emitted for a tag (engine thread only).
    private struct Emitted {
        var value: SampleValue = .zero
        var quality = Quality(reason: .waitingForInitialData)
        var emitted = false
        var text: [UInt8] = []
        /// Monotonic ns when the tag's last sample was applied.
        var seenNs: Int64 = 0
    }

    /// Engine-thread state, indexed by tag: one allocation for the engine's
    /// life, reached through a pointer so that the sampling path pays no
    /// exclusivity checks (which `var` arrays of a class cost per access).
    private let last: UnsafeMutableBufferPointer<Emitted>
    private let kinds: [ValueKind]
    private let deadbands: [Double]
    /// Per tag: its code map, whose gaps make a good sample uncertain.
    private let codeMaps: [CodeMap?]
    /// Per tag: a good value older than this goes Bad (timeout); 0: no deadline.
    private let maxAgesNs: [Int64]
    private var nextSweepNs: Int64 = 0
    /// KPI outputs and alarm state tags changed while applying samples (engine thread).
    private var derivedChanges = 0
    /// Monotonic ns at the start of the current drain.
    private var drainNs: Int64 = 0
    /// How often the deadlines are looked at.
    static let sweepIntervalNs: Int64 = 500_000_000

    private let sampleCount = Atomic<Int>(0)
    private let changeCount = Atomic<Int>(0)
    private let started = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    private let stopped = Wakeup()
    private let lastLoop = Atomic<Int64>(0)
    /// A test switch: the loop stops draining (and beating) at this monotonic time.
    private let stallAt = Atomic<Int64>(.max)

    /// - Parameters:
    ///   - ringBases: the gateway index of each ring's first tag
    ///     (all 0 when the samples already carry gateway indices).
    ///   - maxAgesNs: each tag's deadline (nil or 0: none).
    public init(table: TagTable, rings: [SampleRing], ringBases: [Int]? = nil, sinks: [ChangeQueue],
                wakeup: Wakeup = Wakeup(), maxAgesNs: [Int64]? = nil, kpi: KPIEngine? = nil,
                alarms: AlarmEngine? = nil) {
        self.table = table
        self.kpi = kpi
        self.alarms = alarms
        self.wakeup = wakeup
        self.rings = rings
        self.ringBases = (ringBases ?? Array(repeating: 0, count: rings.count)).map { UInt32($0) }
        precondition(self.ringBases.count == rings.count, "one base per ring")
        self.sinks = sinks
        let count = table.count
        last = .allocate(capacity: count)
        _ = last.initialize(from: repeatElement(Emitted(), count: count))
        for (index, tag) in table.tags.enumerated() where tag.dataType == .string {
            last[index].text.reserveCapacity(max(0, tag.stringLength) * 2)
        }
        kinds = table.tags.map(\.kind)
        deadbands = table.tags.map(\.deadband)
        codeMaps = table.tags.map(\.codes)
        self.maxAgesNs = maxAgesNs ?? Array(repeating: 0, count: count)
        precondition(self.maxAgesNs.count == count, "one deadline per tag")
    }

    deinit {
        last.baseAddress?.deinitialize(count: last.count)
        last.deallocate()
    }

    public var stats: TagEngineStats {
        TagEngineStats(
            samples: sampleCount.load(ordering: .relaxed),
            changes: changeCount.load(ordering: .relaxed),
            ringOverruns: rings.reduce(0) { $0 + $1.overruns },
            sinkOverruns: sinks.reduce(0) { $0 + $1.overruns })
    }

    /// Drains every ring once. Call from one thread only (the engine thread,
    /// or a test). Returns the number of samples processed.
    @discardableResult
    public func drainOnce() -> Int {
        drainNs = Clock.monotonicNs()
        var processed = 0
        var changes = 0
        for (ring, base) in zip(rings, ringBases) {
            processed += ring.drain { sample, text in
                var global = sample
                global.tag &+= base
                if self.apply(global, text: text) { changes += 1 }
            }
        }
        if drainNs >= nextSweepNs {
            nextSweepNs = drainNs + Self.sweepIntervalNs
            changes += expire(now: drainNs)
        }
        kpi?.tick(now: Clock.realtimeNs()) { sample, text in
            if self.apply(sample, text: text) { changes += 1 }
        }
        alarms?.publishAcknowledgments(now: Clock.realtimeNs()) { sample in
            if self.apply(sample, text: UnsafeBufferPointer(start: nil, count: 0)) { changes += 1 }
        }
        changes += derivedChanges
        derivedChanges = 0
        if changes > 0 {
            for sink in sinks { sink.wakeup.signal() }
            changeCount.wrappingAdd(changes, ordering: .relaxed)
        }
        sampleCount.wrappingAdd(processed, ordering: .relaxed)
        return processed
    }

    /// Runs the engine loop on the calling thread until `stop()`.
    public func run() {
        Clock.nameCurrentThread("rg-engine")
        started.store(true, ordering: .releasing)
        while !stopRequested.load(ordering: .acquiring) {
            lastLoop.store(Clock.monotonicNs(), ordering: .relaxed)
            wakeup.wait(timeoutNs: 200_000_000)
            while Clock.monotonicNs() >= stallAt.load(ordering: .relaxed) && !stopRequested.load(ordering: .acquiring) {
                usleep(100_000)
            }
            drainOnce()
        }
        drainOnce()
        stopped.signal()
    }

    /// Nanoseconds since the engine loop last came round (it does at least
    /// every 200 ms); nil before it starts. For the service watchdog.
    public var sinceLastLoopNs: Int64? {
        guard started.load(ordering: .acquiring) else { return nil }
        return Clock.monotonicNs() - lastLoop.load(ordering: .relaxed)
    }

    /// Makes the loop stop draining from `monotonicNs` on, as a stuck
    /// sampling core would (the `--debug-stall-after` switch of `railgate run`).
    public func stall(atMonotonicNs monotonicNs: Int64) { stallAt.store(monotonicNs, ordering: .relaxed) }

    /// Asks `run()` to return after a last drain, and waits for it (up to 2 s).
    public func stop() {
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wakeup.signal()
        if started.load(ordering: .acquiring) { stopped.wait(timeoutNs: 2_000_000_000) }
    }

    /// Good tags past their deadline go Bad (timeout); returns how many. Allocates nothing.
    private func expire(now: Int64) -> Int {
        var expired = 0
        for index in 0..<maxAgesNs.count where maxAgesNs[index] > 0 {
            let seen = last[index]
            guard seen.emitted, seen.quality.hasValue, now - seen.seenNs > maxAgesNs[index] else { continue }
            let stale = Sample(tag: UInt32(index), quality: Quality(reason: .timeout), timestamp: Clock.realtimeNs(),
                               value: seen.value)
            if apply(stale, text: UnsafeBufferPointer(start: nil, count: 0), seenNs: seen.seenNs) { expired += 1 }
        }
        return expired
    }

    private func apply(_ read: Sample, text slot: UnsafeBufferPointer<UInt8>, seenNs: Int64? = nil) -> Bool {
        let index = Int(read.tag)
        guard index < kinds.count else { return false }
        last[index].seenNs = seenNs ?? drainNs
        let kind = kinds[index]
        var sample = read
        if sample.quality.isGood, let map = codeMaps[index] {
            // Spelled out: a method reference (`flatMap(map.position(of:))`) would box `map` per call.
            var listed = false
            if let raw = CodeMap.raw(sample.value, kind: kind) { listed = map.position(of: raw) != nil }
            if !listed { sample.quality = Quality(reason: .unmappedCode) }
        }
        let text = kind == .string
            ? UnsafeBufferPointer(rebasing: slot.prefix(Int(truncatingIfNeeded: min(sample.value.uint, UInt64(slot.count)))))
            : UnsafeBufferPointer(start: nil, count: 0)
        let now = Clock.realtimeNs()

        var newText: UnsafeBufferPointer<UInt8>? = nil
        var textChanged = false
        if kind == .string && sample.quality.isGood {
            textChanged = !last[index].text.elementsEqual(text)
            if textChanged || !last[index].emitted {
                // In place: the buffer has room for the tag's longest text (reserved at start).
                last[index].text.removeAll(keepingCapacity: true)
                last[index].text.append(contentsOf: text)
                newText = text
            }
        }
        table.store(sample, gatewayTimestamp: now, text: newText)
        if let kpi, kpi.watches(index) {
            kpi.observe(index, sample, now: now) { output, text in
                if self.apply(output, text: text) { derivedChanges += 1 }
            }
        }
        if let alarms, alarms.watches(index) {
            alarms.observe(index, sample, kind: kind, now: now) { output in
                if self.apply(output, text: UnsafeBufferPointer(start: nil, count: 0)) { derivedChanges += 1 }
            }
        }

        let previous = last[index]
        let isChange: Bool
        if !previous.emitted || sample.quality != previous.quality {
            isChange = true
        } else if !sample.quality.hasValue {
            isChange = false
        } else if kind == .string {
            isChange = textChanged
        } else if deadbands[index] > 0 {
            let delta = sample.value.numeric(kind) - previous.value.numeric(kind)
            isChange = abs(delta) > deadbands[index] || delta.isNaN
        } else {
            isChange = sample.value != previous.value
        }
        guard isChange else { return false }

        last[index].emitted = true
        last[index].quality = sample.quality
        if sample.quality.hasValue { last[index].value = sample.value }
        for sink in sinks { sink.push(sample, text: text) }
        return true
    }
}
