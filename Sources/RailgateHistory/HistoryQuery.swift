import RailgateCore

/// What a raw history read returns, in order: stored values and, where a bounding value was
/// asked for and none exists, a marker at the time the bound was sought (OPC UA answers it with
/// Bad_BoundNotFound).
public enum HistoryItem: Sendable, Equatable {
    case value(HistoryRecord)
    case noBound(atNs: Int64)
}

/// A raw read in progress: what remains to be returned. The first page is planned from the
/// request; a continuation point keeps the plan of the rest.
///
/// Time domain (OPC UA Part 11 §4.4 and §6.5.3): the start time is inclusive, the end time
/// exclusive, whichever comes first in time; with an end before the start, or an end alone,
/// values come newest first. With bounds, the value at or before the earlier edge and the first
/// value at or after the later edge are included (a start and end that are the same instant
/// give the value at it, once).
public struct RawReadPlan: Sendable, Equatable {
    public var tag: Int
    var leading: Int64?
    /// The next sequence number to return and the last one, in reading order; none when `next`
    /// is nil.
    var next: UInt64?
    var last: UInt64
    var forward: Bool
    var trailing: Int64?

    public var isFinished: Bool { leading == nil && next == nil && trailing == nil }
}

extension HistoryStore {
    /// Plans a raw read of tag `tag` between `startNs` and `endNs` (nil: not given). Returns nil
    /// when neither time is given (the caller refuses the request) or the tag has no history.
    public func planRaw(tag: Int, startNs: Int64?, endNs: Int64?, bounds: Bool, nowNs: Int64 = Clock.realtimeNs()) -> RawReadPlan? {
        guard let file = file(tag), startNs != nil || endNs != nil else { return nil }
        let range = visibleRange(tag, file, nowNs: nowNs)
        var plan = RawReadPlan(tag: tag, leading: nil, next: nil, last: 0, forward: true, trailing: nil)
        /// A bounding value: the one `outward` found, else the marker at `time` and the nearest value inside.
        func bound(_ outward: UInt64?, at time: Int64, marker: inout Int64?, inside: @autoclosure () -> UInt64?) -> UInt64? {
            if let outward { return outward }
            marker = time
            return inside()
        }
        if let start = startNs, endNs.map({ $0 >= start }) ?? true {
            // Forward from the start.
            let first = bounds
                ? bound(lastSeq(file, range, atOrBefore: start), at: start, marker: &plan.leading,
                        inside: firstSeq(file, range, atOrAfter: start))
                : firstSeq(file, range, atOrAfter: start)
            var last = range?.upperBound
            if let end = endNs {
                last = bounds
                    ? bound(firstSeq(file, range, atOrAfter: end), at: end, marker: &plan.trailing, inside: range?.upperBound)
                    : lastSeq(file, range, atOrBefore: end == start ? end : max(end, .min + 1) - 1)
            }
            if let first, let last, first <= last { (plan.next, plan.last) = (first, last) }
            return plan
        }
        // Newest first: from the start (inclusive) or the end alone (exclusive), down to the end if given.
        plan.forward = false
        let from = startNs ?? endNs!
        let first = bounds
            ? bound(firstSeq(file, range, atOrAfter: from), at: from, marker: &plan.leading,
                    inside: lastSeq(file, range, atOrBefore: from))
            : lastSeq(file, range, atOrBefore: startNs == nil ? max(from, .min + 1) - 1 : from)
        var last = range?.lowerBound
        if startNs != nil, let end = endNs {
            last = bounds
                ? bound(lastSeq(file, range, atOrBefore: end), at: end, marker: &plan.trailing, inside: range?.lowerBound)
                : firstSeq(file, range, atOrAfter: min(end, .max - 1) + 1)
        }
        if let first, let last, first >= last { (plan.next, plan.last) = (first, last) }
        return plan
    }

    /// Up to `limit` items of a planned read, and what remains (nil when nothing does).
    public func readRaw(_ plan: RawReadPlan, limit: Int) -> (items: [HistoryItem], rest: RawReadPlan?) {
        var plan = plan
        var items: [HistoryItem] = []
        guard let file = file(plan.tag), limit > 0 else { return ([], plan.isFinished ? nil : plan) }
        if let leading = plan.leading {
            items.append(.noBound(atNs: leading))
            plan.leading = nil
        }
        var records: [HistoryRecord] = []
        while items.count < limit, let next = plan.next {
            let want = limit - items.count
            let span = plan.forward ? plan.last - next + 1 : next - plan.last + 1
            let count = Int(min(UInt64(want), span, 4096))
            let from = plan.forward ? next : next - UInt64(count) + 1
            records.removeAll(keepingCapacity: true)
            file.records(from: from, count: count, into: &records)
            if !plan.forward { records.reverse() }
            for record in records { items.append(.value(record)) }
            let moved = UInt64(count)
            if plan.forward {
                plan.next = plan.last - next >= moved ? next + moved : nil
            } else {
                plan.next = next - plan.last >= moved ? next - moved : nil
            }
        }
        if plan.next == nil, items.count < limit, let trailing = plan.trailing {
            items.append(.noBound(atNs: trailing))
            plan.trailing = nil
        }
        return (items, plan.isFinished ? nil : plan)
    }

    /// The value a tag had at each of `times`: stored at that instant, or the stored values
    /// around it (for the caller to step or interpolate). `simpleBounds` false: bad values are
    /// passed over when looking for the values around an instant (up to 1000 of them).
    /// `resolutionNs`: how finely the caller gives times (OPC UA: 100 ns); a value stored within
    /// the same step as a time is the value at it.
    public func readAtTime(tag: Int, times: [Int64], simpleBounds: Bool, resolutionNs: Int64 = 1,
                           nowNs: Int64 = Clock.realtimeNs()) -> [HistoryAtTime]? {
        guard let file = file(tag) else { return nil }
        let range = visibleRange(tag, file, nowNs: nowNs)
        let step = max(1, resolutionNs)
        return times.map { time in
            let last = time > .max - (step - 1) ? Int64.max : time + (step - 1)
            let before = lastSeq(file, range, atOrBefore: last).flatMap { seq in
                simpleBounds ? file.record(seq) : goodRecord(file, range, from: seq, forward: false)
            }
            if let before, before.sourceNs >= time { return .stored(before) }
            let after = firstSeq(file, range, atOrAfter: time).flatMap { seq in
                simpleBounds ? file.record(seq) : goodRecord(file, range, from: seq, forward: true)
            }
            guard let before else { return .noData }
            return .between(before, after)
        }
    }

    private func goodRecord(_ file: HistoryFile, _ range: ClosedRange<UInt64>?, from seq: UInt64,
                            forward: Bool) -> HistoryRecord? {
        guard let range else { return nil }
        var current = seq
        for _ in 0..<1000 {
            guard range.contains(current) else { return nil }
            if let record = file.record(current), record.quality.hasValue { return record }
            guard forward || current > range.lowerBound else { return nil }
            current = forward ? current + 1 : current - 1
        }
        return nil
    }

    /// Sequence numbers readable now: within the ring and, with a maximum age, not older.
    func visibleRange(_ tag: Int, _ file: HistoryFile, nowNs: Int64) -> ClosedRange<UInt64>? {
        let (oldest, newest) = file.window
        guard newest >= oldest else { return nil }
        // The oldest slot may be being overwritten now: it is read, and skipped if it is.
        var range = oldest...newest
        if let maxAge = maxAgeNs(tag) {
            guard let first = firstSeq(file, range, atOrAfter: nowNs &- maxAge) else { return nil }
            range = first...newest
        }
        return range
    }

    /// The first sound value at or after `time`, by binary search over the ring (stored values are
    /// in time order as long as the clock does not step back).
    func firstSeq(_ file: HistoryFile, _ range: ClosedRange<UInt64>?, atOrAfter time: Int64) -> UInt64? {
        guard let range else { return nil }
        var low = range.lowerBound
        var high = range.upperBound + 1
        while low < high {
            let middle = low + (high - low) / 2
            guard let (seq, record) = soundRecord(file, from: middle, below: high) else {
                high = middle
                continue
            }
            if record.sourceNs >= time { high = middle } else { low = seq + 1 }
        }
        guard low <= range.upperBound, let (seq, record) = soundRecord(file, from: low, below: range.upperBound + 1),
              record.sourceNs >= time else { return nil }
        return seq
    }

    /// The last sound value at or before `time`.
    func lastSeq(_ file: HistoryFile, _ range: ClosedRange<UInt64>?, atOrBefore time: Int64) -> UInt64? {
        guard let range else { return nil }
        let after = time == .max ? nil : firstSeq(file, range, atOrAfter: time + 1)
        var seq = (after ?? range.upperBound + 1)
        // Step back over damaged records to the sound one before (a few at most: a damaged run
        // longer than `maxDamagedRun` ends the search).
        var steps = 0
        while seq > range.lowerBound && steps < Self.maxDamagedRun {
            seq -= 1
            steps += 1
            if let record = file.record(seq), record.sourceNs <= time { return seq }
        }
        return nil
    }

    /// The first sound record at or after `seq` and below `limit`.
    private func soundRecord(_ file: HistoryFile, from seq: UInt64, below limit: UInt64) -> (UInt64, HistoryRecord)? {
        var current = seq
        while current < limit && current - seq < UInt64(Self.maxDamagedRun) {
            if let record = file.record(current) { return (current, record) }
            current += 1
        }
        return nil
    }

    /// How many damaged records in a row a search passes over.
    static let maxDamagedRun = 4096
}

/// The value of a tag at a requested instant.
public enum HistoryAtTime: Sendable, Equatable {
    /// A value was stored at that instant.
    case stored(HistoryRecord)
    /// The stored values before and after it (none after: the instant is past the newest).
    case between(HistoryRecord, HistoryRecord?)
    /// Nothing was stored before it.
    case noData
}
