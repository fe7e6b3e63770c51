import Synchronization

/// What a machine's KPIs have accounted so far; persisted (`KPISnapshot`) so that a restart in
/// the middle of a shift goes on with the same figures. Trivial: copied without allocating.
public struct MachineRun: Sendable, Equatable, Codable {
    public var state = MachineState.unknown
    /// Realtime ns up to which time has been attributed to states (0: not yet).
    public var accountedNs: Int64 = 0
    /// The current shift: its index in the calendar (−1: between shifts), start and end.
    public var shiftIndex = -1
    public var shiftStartNs: Int64 = 0
    public var shiftEndNs: Int64 = 0
    public var shift = KPITotals()
    /// Last raw counter values (−1: none yet).
    public var lastTotal: Int64 = -1
    public var lastQuality: Int64 = -1
    /// Start of the current down period (0: not down).
    public var downSinceNs: Int64 = 0

    public init() {}
}

/// A minute of a machine's rolling window.
public struct KPIBucket: Sendable, Equatable, Codable {
    /// Minutes since the epoch (−1: empty).
    public var minute: Int64 = -1
    public var totals = KPITotals()

    public init() {}
}

/// The KPI state of every machine, as persisted.
public struct KPISnapshot: Sendable, Equatable, Codable {
    public struct Machine: Sendable, Equatable, Codable {
        public var name: String
        public var run: MachineRun
        public var buckets: [KPIBucket]
        public var lastReason: String
    }

    public var savedNs: Int64
    public var machines: [Machine]

    public init(savedNs: Int64, machines: [Machine]) {
        self.savedNs = savedNs
        self.machines = machines
    }
}

/// Edge KPIs: each machine's state, time and part counts per shift and over a rolling window,
/// availability, performance, quality and OEE, and downtime events — computed on the engine
/// thread from the samples the `TagEngine` applies, published as the machine's `KPIOutput`
/// tags through the same engine. Observing a sample and publishing figures allocate nothing.
///
/// Time is attributed to the state the machine was in, split at shift boundaries; counters are
/// added up by their increments (a counter that goes down wrapped when it was in the upper half
/// of its range, else it was reset to 0). A restart continues the persisted shift; the time the
/// gateway was away counts as `unknown` (planned, not running), the parts made meanwhile are
/// counted from the counters' values on return.
public final class KPIEngine: @unchecked Sendable {
    public let machines: [KPIMachine]
    public let calendar: ShiftCalendar
    private let rollingMinutes: Int
    private let publishIntervalNs: Int64
    private let tags: [Tag]
    /// For each gateway tag, the machines that read it and what for.
    private enum Role { case state, reason, total, quality }
    private let roles: [[(machine: Int, role: Role)]]

    // Engine-thread state (one allocation each, for the engine's life).
    private let runs: UnsafeMutableBufferPointer<MachineRun>
    private let buckets: UnsafeMutableBufferPointer<KPIBucket>
    /// Per machine: the current stop reason's text, and the last downtime event's JSON.
    private let reasonText: UnsafeMutableBufferPointer<UInt8>
    private let reasonLength: UnsafeMutableBufferPointer<Int>
    private let eventText: UnsafeMutableBufferPointer<UInt8>
    private let eventLength: UnsafeMutableBufferPointer<Int>
    /// Bytes of a reason and of a downtime event: as much as their output tags hold.
    private static let reasonCapacity = KPIOutput.reason.stringLength * 2
    private static let eventCapacity = KPIOutput.downtime.stringLength * 2
    private var nextPublishNs: Int64 = 0

    /// What the persister reads: a copy made on the engine thread at each publication.
    private let mirror: Mutex<(runs: [MachineRun], buckets: [KPIBucket], reasons: [UInt8], reasonLengths: [Int])>

    /// - Parameters:
    ///   - tags: the gateway's tags (the engine reads their kinds and code maps).
    ///   - restored: the persisted state, taken for the machines it names.
    public init(machines: [KPIMachine], calendar: ShiftCalendar, tags: [Tag], rollingMinutes: Int = 60,
                publishIntervalNs: Int64 = 1_000_000_000, restored: KPISnapshot? = nil) {
        self.machines = machines
        self.calendar = calendar
        self.tags = tags
        self.rollingMinutes = max(1, rollingMinutes)
        self.publishIntervalNs = max(100_000_000, publishIntervalNs)
        var roles = Array(repeating: [(machine: Int, role: Role)](), count: tags.count)
        for (index, machine) in machines.enumerated() {
            let links: [(Int?, Role)] = [(machine.stateTag, .state), (machine.reasonTag, .reason),
                                         (machine.totalTag, .total), (machine.qualityTag, .quality)]
            for case let (tag?, role) in links where roles.indices.contains(tag) { roles[tag].append((index, role)) }
        }
        self.roles = roles
        let count = machines.count
        runs = .allocate(capacity: count)
        _ = runs.initialize(from: repeatElement(MachineRun(), count: count))
        buckets = .allocate(capacity: count * self.rollingMinutes)
        _ = buckets.initialize(from: repeatElement(KPIBucket(), count: buckets.count))
        reasonText = .allocate(capacity: count * Self.reasonCapacity)
        reasonText.initialize(repeating: 0)
        reasonLength = .allocate(capacity: count)
        reasonLength.initialize(repeating: 0)
        eventText = .allocate(capacity: count * Self.eventCapacity)
        eventText.initialize(repeating: 0)
        eventLength = .allocate(capacity: count)
        eventLength.initialize(repeating: 0)
        mirror = Mutex((Array(repeating: MachineRun(), count: count), Array(buckets),
                        Array(repeating: 0, count: reasonText.count), Array(repeating: 0, count: count)))
        if let restored { restore(restored) }
    }

    deinit {
        runs.deallocate()
        buckets.deallocate()
        reasonText.deallocate()
        reasonLength.deallocate()
        eventText.deallocate()
        eventLength.deallocate()
    }

    /// Whether tag `index` feeds a machine. Engine thread.
    @inline(__always) public func watches(_ index: Int) -> Bool { index < roles.count && !roles[index].isEmpty }

    // MARK: Samples (engine thread, no allocation)

    /// Takes in a sample of a watched tag. A state change publishes the machine's figures at once.
    public func observe(_ index: Int, _ sample: Sample, now: Int64, emit: (Sample, UnsafeBufferPointer<UInt8>) -> Void) {
        guard index < roles.count else { return }
        let kind = tags[index].kind
        let raw = sample.quality.hasValue ? CodeMap.raw(sample.value, kind: kind) : nil
        for (machine, role) in roles[index] {
            account(machine, now: now)
            switch role {
            case .state:
                let state = raw.map { machines[machine].state(of: $0) } ?? .unknown
                if state != runs[machine].state {
                    changeState(machine, to: state, now: now)
                    publish(machine, now: now, emit: emit)
                }
            case .reason:
                setReason(machine, tag: index, raw: raw)
            case .total:
                guard let raw else { continue }
                let delta = Self.increment(&runs[machine].lastTotal, raw, modulus: machines[machine].counterModulus)
                runs[machine].shift.total &+= delta
                bucket(machine, now: now).pointee.totals.total &+= delta
            case .quality:
                guard let raw else { continue }
                let delta = Self.increment(&runs[machine].lastQuality, raw, modulus: machines[machine].counterModulus)
                runs[machine].shift.good &+= delta
                bucket(machine, now: now).pointee.totals.good &+= delta
            }
        }
    }

    /// Accounts time up to `now` and publishes every machine's figures when the publication
    /// interval has passed. Call after each drain.
    public func tick(now: Int64, emit: (Sample, UnsafeBufferPointer<UInt8>) -> Void) {
        guard now >= nextPublishNs else { return }
        nextPublishNs = now + publishIntervalNs
        for machine in machines.indices {
            account(machine, now: now)
            publish(machine, now: now, emit: emit)
        }
        copyToMirror()
    }

    /// The increment of a counter from `last` to `raw`. Allocates nothing.
    static func increment(_ last: inout Int64, _ raw: Int64, modulus: UInt64) -> Int64 {
        guard raw >= 0 else { return 0 }
        defer { last = raw }
        guard last >= 0 else { return 0 }
        if raw >= last { return raw - last }
        // Lower than before: wrapped when it was in the upper half of its range, else reset to 0.
        if UInt64(last) >= modulus / 2, UInt64(last) < modulus {
            return Int64(truncatingIfNeeded: modulus - UInt64(last)) &+ raw
        }
        return raw
    }

    private func bucket(_ machine: Int, now: Int64) -> UnsafeMutablePointer<KPIBucket> {
        let minute = now / 60_000_000_000
        let slot = buckets.baseAddress! + machine * rollingMinutes + Int(minute % Int64(rollingMinutes))
        if slot.pointee.minute != minute {
            slot.pointee = KPIBucket()
            slot.pointee.minute = minute
        }
        return slot
    }

    /// Attributes the time since the last accounting to the machine's state, shift by shift.
    private func account(_ machine: Int, now: Int64) {
        var run = runs[machine]
        defer { runs[machine] = run }
        guard run.accountedNs > 0 else {
            run.accountedNs = now
            if let shift = calendar.shift(at: now) { begin(shift, &run) }
            return
        }
        var t = run.accountedNs
        var steps = 0
        while t < now && steps < 64 {
            steps += 1
            if run.shiftIndex >= 0 && t >= run.shiftStartNs && t < run.shiftEndNs {
                let end = min(now, run.shiftEndNs)
                run.shift.add(end - t, in: run.state)
                bucket(machine, now: end).pointee.totals.add(end - t, in: run.state)
                t = end
            } else if let shift = calendar.shift(at: t) {
                begin(shift, &run)
            } else if let shift = calendar.shift(at: now), shift.startNs > t, shift.startNs <= now {
                bucket(machine, now: shift.startNs).pointee.totals.add(shift.startNs - t, in: run.state)
                t = shift.startNs
                begin(shift, &run)
            } else {
                bucket(machine, now: now).pointee.totals.add(now - t, in: run.state)
                run.shiftIndex = -1
                t = now
            }
        }
        run.accountedNs = max(run.accountedNs, now)
    }

    /// A new shift instance starts from zero; the same one (after a restart) goes on.
    private func begin(_ shift: (index: Int, startNs: Int64, endNs: Int64), _ run: inout MachineRun) {
        if run.shiftIndex == shift.index && run.shiftStartNs == shift.startNs { return }
        run.shiftIndex = shift.index
        run.shiftStartNs = shift.startNs
        run.shiftEndNs = shift.endNs
        run.shift = KPITotals()
    }

    private func changeState(_ machine: Int, to state: MachineState, now: Int64) {
        let previous = runs[machine].state
        runs[machine].state = state
        if state == .down && previous != .down {
            runs[machine].downSinceNs = now
        } else if previous == .down && state != .down && runs[machine].downSinceNs > 0 {
            recordDowntime(machine, start: runs[machine].downSinceNs, end: now)
            runs[machine].downSinceNs = 0
        }
    }

    private func setReason(_ machine: Int, tag: Int, raw: Int64?) {
        let buffer = reasonSlot(machine)
        guard let raw else { reasonLength[machine] = 0; return }
        if let map = tags[tag].codes {
            guard let position = map.position(of: raw) else { reasonLength[machine] = 0; return }
            var written = 0
            _ = map.codes[position].utf8.withContiguousStorageIfAvailable { bytes in
                written = min(bytes.count, buffer.count)
                for offset in 0..<written { buffer[offset] = bytes[offset] }
            }
            reasonLength[machine] = written
        } else {
            var length = 0
            JSONBytes.appendInt(raw, to: buffer, at: &length)
            reasonLength[machine] = length
        }
    }

    /// A finished down period: counted, and the machine's `downtime` tag gets its event as JSON,
    /// `{"start_ms":…,"end_ms":…,"duration_ms":…,"reason":"JAM","shift":"early"}`.
    private func recordDowntime(_ machine: Int, start: Int64, end: Int64) {
        runs[machine].shift.downtimes &+= 1
        bucket(machine, now: end).pointee.totals.downtimes &+= 1
        let buffer = UnsafeMutableBufferPointer(rebasing: eventText[(machine * Self.eventCapacity)...].prefix(Self.eventCapacity))
        var at = 0
        JSONBytes.append("{\"start_ms\":", to: buffer, at: &at)
        JSONBytes.appendInt(start / 1_000_000, to: buffer, at: &at)
        JSONBytes.append(",\"end_ms\":", to: buffer, at: &at)
        JSONBytes.appendInt(end / 1_000_000, to: buffer, at: &at)
        JSONBytes.append(",\"duration_ms\":", to: buffer, at: &at)
        JSONBytes.appendInt((end - start) / 1_000_000, to: buffer, at: &at)
        JSONBytes.append(",\"reason\":", to: buffer, at: &at)
        // Room is kept for what follows (`,"shift":"…"}`), so the event is always whole JSON.
        JSONBytes.appendQuoted(reason(machine), to: buffer, at: &at, reserve: 48)
        let shift = runs[machine].shiftIndex
        if calendar.shifts.indices.contains(shift) {
            JSONBytes.append(",\"shift\":", to: buffer, at: &at)
            _ = calendar.shifts[shift].name.utf8.withContiguousStorageIfAvailable {
                JSONBytes.appendQuoted($0, to: buffer, at: &at, reserve: 1)
            }
        }
        JSONBytes.append("}", to: buffer, at: &at)
        eventLength[machine] = at
    }

    /// Room for machine `machine`'s stop reason.
    private func reasonSlot(_ machine: Int) -> UnsafeMutableBufferPointer<UInt8> {
        UnsafeMutableBufferPointer(rebasing: reasonText[(machine * Self.reasonCapacity)...].prefix(Self.reasonCapacity))
    }

    /// Machine `machine`'s current stop reason.
    private func reason(_ machine: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: reasonSlot(machine).prefix(reasonLength[machine]))
    }

    // MARK: Publication

    private func publish(_ machine: Int, now: Int64, emit: (Sample, UnsafeBufferPointer<UInt8>) -> Void) {
        let base = machines[machine].firstOutput
        let run = runs[machine]
        func number(_ output: KPIOutput, _ value: Double) {
            emit(Sample(tag: UInt32(base + output.rawValue), quality: .good, timestamp: now,
                        value: SampleValue(double: value.isFinite ? value : 0)), UnsafeBufferPointer(start: nil, count: 0))
        }
        func count(_ output: KPIOutput, _ value: Int64) {
            emit(Sample(tag: UInt32(base + output.rawValue), quality: .good, timestamp: now, value: SampleValue(int: value)),
                 UnsafeBufferPointer(start: nil, count: 0))
        }
        func text(_ output: KPIOutput, _ bytes: UnsafeBufferPointer<UInt8>) {
            emit(Sample(tag: UInt32(base + output.rawValue), quality: .good, timestamp: now,
                        value: SampleValue(uint: UInt64(bytes.count))), bytes)
        }
        func text(_ output: KPIOutput, _ string: String) {
            _ = string.utf8.withContiguousStorageIfAvailable { text(output, $0) }
        }
        text(.state, run.state.name)
        text(.machineryState, run.state.machineryItemState)
        text(.shift, calendar.shifts.indices.contains(run.shiftIndex) ? calendar.shifts[run.shiftIndex].name : "")
        text(.reason, run.state == .down ? reason(machine) : UnsafeBufferPointer(start: nil, count: 0))
        /// The four ratios of `totals` as the outputs from `first` on (availability, performance,
        /// quality, OEE); the totals with good parts counted (with a scrap counter: total − scrap).
        func ratios(_ totals: KPITotals, from first: KPIOutput) -> KPITotals {
            var counted = totals
            if machines[machine].countsScrap { counted.good = max(0, counted.total &- counted.good) }
            let figures = counted.figures(idealCycleNs: machines[machine].idealCycleNs)
            // Four calls, not a loop over an array: an array literal would allocate.
            number(first, figures.availability)
            number(KPIOutput(rawValue: first.rawValue + 1) ?? first, figures.performance)
            number(KPIOutput(rawValue: first.rawValue + 2) ?? first, figures.quality)
            number(KPIOutput(rawValue: first.rawValue + 3) ?? first, figures.oee)
            return counted
        }
        let shift = ratios(run.shift, from: .availability)
        var rolling = KPITotals()
        let minute = now / 60_000_000_000
        for slot in 0..<rollingMinutes {
            let bucket = buckets[machine * rollingMinutes + slot]
            if bucket.minute >= 0 && bucket.minute > minute - Int64(rollingMinutes) { rolling.add(bucket.totals) }
        }
        _ = ratios(rolling, from: .rollingAvailability)
        number(.plannedSeconds, Double(shift.plannedNs) / 1e9)
        number(.runSeconds, Double(shift.runNs) / 1e9)
        number(.downSeconds, Double(shift.unplannedStopNs) / 1e9)
        number(.stoppedSeconds, Double(shift.stoppedNs) / 1e9)
        count(.totalCount, shift.total)
        count(.goodCount, shift.good)
        count(.downtimeCount, shift.downtimes)
        text(.downtime, UnsafeBufferPointer(rebasing: eventText[(machine * Self.eventCapacity)...].prefix(eventLength[machine])))
    }

    // MARK: Persistence

    private func copyToMirror() {
        mirror.withLock { copy in
            for index in runs.indices { copy.runs[index] = runs[index] }
            for index in buckets.indices { copy.buckets[index] = buckets[index] }
            for index in reasonText.indices { copy.reasons[index] = reasonText[index] }
            for index in reasonLength.indices { copy.reasonLengths[index] = reasonLength[index] }
        }
    }

    /// The state to persist, as of the last publication. Any thread.
    public func snapshot(now: Int64 = Clock.realtimeNs()) -> KPISnapshot {
        let copy = mirror.withLock { $0 }
        return KPISnapshot(savedNs: now, machines: machines.indices.map { index in
            let reason = copy.reasons[(index * Self.reasonCapacity)...].prefix(copy.reasonLengths[index])
            return KPISnapshot.Machine(name: machines[index].name, run: copy.runs[index],
                                       buckets: Array(copy.buckets[(index * rollingMinutes)..<((index + 1) * rollingMinutes)]),
                                       lastReason: String(decoding: reason, as: UTF8.self))
        })
    }

    /// Takes the persisted state of machines of the same name. The machine's state is unknown
    /// until its state tag is read again, and the time since the save is accounted as such;
    /// the last downtime event is not restored (its tag starts empty).
    private func restore(_ snapshot: KPISnapshot) {
        for saved in snapshot.machines {
            guard let index = machines.firstIndex(where: { $0.name == saved.name }) else { continue }
            runs[index] = saved.run
            if saved.buckets.count == rollingMinutes {
                for (slot, bucket) in saved.buckets.enumerated() { buckets[index * rollingMinutes + slot] = bucket }
            }
            let reason = reasonSlot(index)
            let length = min(saved.lastReason.utf8.count, reason.count)
            for (offset, byte) in saved.lastReason.utf8.prefix(length).enumerated() { reason[offset] = byte }
            reasonLength[index] = length
            // A down period open at the save ended there (nothing is known after it).
            if saved.run.state == .down && saved.run.downSinceNs > 0 {
                recordDowntime(index, start: saved.run.downSinceNs, end: max(saved.run.downSinceNs, saved.run.accountedNs))
            }
            runs[index].downSinceNs = 0
            runs[index].state = .unknown
        }
        copyToMirror()
    }
}

/// Writing JSON into a fixed byte buffer without allocating (the KPI engine's downtime events).
enum JSONBytes {
    static func append(_ text: StaticString, to buffer: UnsafeMutableBufferPointer<UInt8>, at: inout Int) {
        text.withUTF8Buffer { bytes in
            for byte in bytes where at < buffer.count {
                buffer[at] = byte
                at += 1
            }
        }
    }

    static func appendInt(_ value: Int64, to buffer: UnsafeMutableBufferPointer<UInt8>, at: inout Int) {
        var digits: (UInt64, Int) = (value.magnitude, 0)
        var scratch: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                      UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { reversed in
            repeat {
                reversed[digits.1] = UInt8(48 + digits.0 % 10)
                digits.0 /= 10
                digits.1 += 1
            } while digits.0 > 0
            if value < 0, at < buffer.count {
                buffer[at] = UInt8(ascii: "-")
                at += 1
            }
            while digits.1 > 0 && at < buffer.count {
                digits.1 -= 1
                buffer[at] = reversed[digits.1]
                at += 1
            }
        }
    }

    /// `"text"` with `"`, `\` and control characters escaped; cut short (still closed) so that
    /// `reserve` bytes stay free after it. A cut never splits an escape; it may split a UTF-8
    /// sequence (readers decode it as U+FFFD).
    static func appendQuoted<C: Collection<UInt8>>(_ text: C, to buffer: UnsafeMutableBufferPointer<UInt8>, at: inout Int,
                                                   reserve: Int = 0) {
        let end = buffer.count - max(0, reserve)
        guard at + 1 < end else { return }
        buffer[at] = UInt8(ascii: "\"")
        at += 1
        let hex: StaticString = "0123456789abcdef"
        for byte in text {
            let escaped: Int = byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") ? 2 : byte < 0x20 ? 6 : 1
            guard at + escaped <= end - 1 else { break }
            if escaped == 2 {
                buffer[at] = UInt8(ascii: "\\"); buffer[at + 1] = byte
            } else if escaped == 6 {
                hex.withUTF8Buffer { digits in
                    buffer[at] = UInt8(ascii: "\\"); buffer[at + 1] = UInt8(ascii: "u"); buffer[at + 2] = 48
                    buffer[at + 3] = 48; buffer[at + 4] = digits[Int(byte >> 4)]; buffer[at + 5] = digits[Int(byte & 15)]
                }
            } else {
                buffer[at] = byte
            }
            at += escaped
        }
        buffer[at] = UInt8(ascii: "\"")
        at += 1
    }
}
