import Glibc

/// What a machine is doing, from its state tag (`kpi.machines[].state`), with the OPC 40001-1
/// MachineryItemState each one is published as.
public enum MachineState: UInt8, Sendable, CaseIterable, Codable {
    /// No valid state: the state tag is bad, or its value is in no list. Counts as unplanned stop.
    case unknown
    /// Producing: run time.
    case running
    /// Ready but not producing (starved, blocked, short stops): unplanned stop.
    case idle
    /// A planned stop (break, no order, planned maintenance): not planned production time.
    case stopped
    /// An unplanned stop (breakdown, jam): unplanned stop, with a reason.
    case down

    public var name: String {
        switch self {
        case .unknown: "unknown"
        case .running: "running"
        case .idle: "idle"
        case .stopped: "stopped"
        case .down: "down"
        }
    }

    /// OPC 40001-1 MachineryItemState: NotAvailable, OutOfService, NotExecuting, Executing.
    public var machineryItemState: String {
        switch self {
        case .unknown: "NotAvailable"
        case .running: "Executing"
        case .idle, .stopped: "NotExecuting"
        case .down: "OutOfService"
        }
    }

    /// Counts against availability (planned time, not running).
    public var isUnplannedStop: Bool { self == .unknown || self == .idle || self == .down }
}

/// One shift of the calendar: a name and its local start and end as seconds after midnight. A
/// shift whose end is not after its start runs past midnight (one that ends when it starts lasts
/// 24 hours).
public struct Shift: Sendable, Equatable {
    public var name: String
    public var startSecond: Int
    public var endSecond: Int

    public init(name: String, startSecond: Int, endSecond: Int) {
        self.name = name
        self.startSecond = startSecond
        self.endSecond = endSecond
    }

    public var lengthSeconds: Int { endSecond > startSecond ? endSecond - startSecond : 86_400 - startSecond + endSecond }

    /// The seconds of the day [start, end) it covers, as one or two ranges.
    public var ranges: [Range<Int>] {
        endSecond > startSecond ? [startSecond..<endSecond]
            : [startSecond..<86_400] + (endSecond > 0 ? [0..<endSecond] : [])
    }
}

/// How one machine's KPIs are computed: which gateway tags give its state, stop reason and
/// counters, its ideal cycle time, and the gateway tags its figures are published as.
public struct KPIMachine: Sendable, Equatable {
    public var name: String
    /// Gateway index of the integer tag whose value says the state.
    public var stateTag: Int
    /// Raw state values → state; a value not listed is `unknown`.
    public var stateValues: [(value: Int64, state: MachineState)]
    /// Gateway index of the tag that holds the stop reason (its code when mapped), if any.
    public var reasonTag: Int?
    /// Gateway index of the total part counter.
    public var totalTag: Int
    /// Gateway index of the good part counter, or of the scrap counter when `countsScrap`.
    public var qualityTag: Int?
    public var countsScrap: Bool
    public var idealCycleNs: Int64
    /// Counters wrap at this value (65536 for a uint16 counter).
    public var counterModulus: UInt64
    /// Gateway index of the first of the machine's `KPIOutput.allCases.count` published tags.
    public var firstOutput: Int

    public init(name: String, stateTag: Int, stateValues: [(value: Int64, state: MachineState)], reasonTag: Int?,
                totalTag: Int, qualityTag: Int?, countsScrap: Bool, idealCycleNs: Int64, counterModulus: UInt64,
                firstOutput: Int) {
        self.name = name
        self.stateTag = stateTag
        self.stateValues = stateValues
        self.reasonTag = reasonTag
        self.totalTag = totalTag
        self.qualityTag = qualityTag
        self.countsScrap = countsScrap
        self.idealCycleNs = idealCycleNs
        self.counterModulus = counterModulus
        self.firstOutput = firstOutput
    }

    public static func == (a: KPIMachine, b: KPIMachine) -> Bool {
        a.name == b.name && a.stateTag == b.stateTag && a.stateValues.elementsEqual(b.stateValues, by: { $0 == $1 })
            && a.reasonTag == b.reasonTag && a.totalTag == b.totalTag && a.qualityTag == b.qualityTag
            && a.countsScrap == b.countsScrap && a.idealCycleNs == b.idealCycleNs
            && a.counterModulus == b.counterModulus && a.firstOutput == b.firstOutput
    }

    public func state(of raw: Int64) -> MachineState {
        stateValues.first { $0.value == raw }?.state ?? .unknown
    }
}

/// The tags each machine's figures are published as, in this order, on a device named after
/// the machine. Ratios are percent of the current shift (`rolling_…`: of the last
/// `kpi.rolling_minutes`), times are seconds of the current shift.
public enum KPIOutput: Int, CaseIterable, Sendable {
    case state, machineryState, shift, reason
    case availability, performance, quality, oee
    case rollingAvailability, rollingPerformance, rollingQuality, rollingOEE
    case plannedSeconds, runSeconds, downSeconds, stoppedSeconds
    case totalCount, goodCount, downtimeCount, downtime

    public var tagName: String {
        switch self {
        case .state: "state"
        case .machineryState: "machinery_state"
        case .shift: "shift"
        case .reason: "reason"
        case .availability: "availability"
        case .performance: "performance"
        case .quality: "quality"
        case .oee: "oee"
        case .rollingAvailability: "rolling_availability"
        case .rollingPerformance: "rolling_performance"
        case .rollingQuality: "rolling_quality"
        case .rollingOEE: "rolling_oee"
        case .plannedSeconds: "planned_s"
        case .runSeconds: "run_s"
        case .downSeconds: "down_s"
        case .stoppedSeconds: "stopped_s"
        case .totalCount: "total_count"
        case .goodCount: "good_count"
        case .downtimeCount: "downtime_count"
        case .downtime: "downtime"
        }
    }

    public var dataType: DataType {
        switch self {
        case .state, .machineryState, .shift, .reason, .downtime: .string
        case .totalCount, .goodCount, .downtimeCount: .int64
        default: .float64
        }
    }

    public var unit: String? {
        switch self {
        case .availability, .performance, .quality, .oee, .rollingAvailability, .rollingPerformance,
             .rollingQuality, .rollingOEE: "%"
        case .plannedSeconds, .runSeconds, .downSeconds, .stoppedSeconds: "s"
        default: nil
        }
    }

    /// Registers (two bytes each) of text a string output holds: the engine's and the north
    /// queues' text slots are sized by the longest, so they are kept short. A reason is cut at
    /// 64 bytes, a downtime event at 192.
    public var stringLength: Int {
        switch self {
        case .state, .machineryState: 8
        case .shift, .reason: 32
        case .downtime: 96
        default: 0
        }
    }

    /// The published tags of a machine, named under `device`.
    public static func tags(device: String, path: (String) -> String) -> [Tag] {
        allCases.map { output in
            Tag(name: output.tagName, device: device, path: path(output.tagName), dataType: output.dataType,
                unit: output.unit, stringLength: output.stringLength)
        }
    }
}

/// Time and parts of one period (a shift, a minute), by state. Trivial: copied without allocating.
public struct KPITotals: Sendable, Equatable, Codable {
    public var runNs: Int64 = 0
    public var idleNs: Int64 = 0
    public var downNs: Int64 = 0
    public var unknownNs: Int64 = 0
    public var stoppedNs: Int64 = 0
    public var total: Int64 = 0
    public var good: Int64 = 0
    public var downtimes: Int64 = 0

    public init() {}

    /// Planned production time: everything but planned stops.
    public var plannedNs: Int64 { runNs &+ idleNs &+ downNs &+ unknownNs }
    public var unplannedStopNs: Int64 { idleNs &+ downNs &+ unknownNs }

    mutating func add(_ ns: Int64, in state: MachineState) {
        switch state {
        case .running: runNs &+= ns
        case .idle: idleNs &+= ns
        case .down: downNs &+= ns
        case .unknown: unknownNs &+= ns
        case .stopped: stoppedNs &+= ns
        }
    }

    mutating func add(_ other: KPITotals) {
        runNs &+= other.runNs; idleNs &+= other.idleNs; downNs &+= other.downNs
        unknownNs &+= other.unknownNs; stoppedNs &+= other.stoppedNs
        total &+= other.total; good &+= other.good; downtimes &+= other.downtimes
    }

    /// Availability, performance, quality and OEE in percent (OEE = availability × performance ×
    /// quality = ideal cycle × good / planned time); 0 where a divisor is 0.
    public func figures(idealCycleNs: Int64) -> (availability: Double, performance: Double, quality: Double, oee: Double) {
        let planned = Double(plannedNs), run = Double(runNs)
        let availability = planned > 0 ? run / planned : 0
        let performance = run > 0 ? Double(idealCycleNs) * Double(total) / run : 0
        let quality = total > 0 ? Double(good) / Double(total) : 0
        return (availability * 100, performance * 100, quality * 100, availability * performance * quality * 100)
    }
}

/// The shift calendar in the gateway's local time.
public struct ShiftCalendar: Sendable, Equatable {
    public var shifts: [Shift]

    public init(shifts: [Shift]) { self.shifts = shifts }

    /// The shift running at `ns` (CLOCK_REALTIME) and the realtime ns of its start; nil between
    /// shifts. Allocates nothing.
    public func shift(at ns: Int64) -> (index: Int, startNs: Int64, endNs: Int64)? {
        var seconds = time_t(ns / 1_000_000_000)
        var local = tm()
        guard localtime_r(&seconds, &local) != nil else { return nil }
        let secondOfDay = Int(local.tm_hour) * 3600 + Int(local.tm_min) * 60 + Int(local.tm_sec)
        let midnightNs = (ns / 1_000_000_000 - Int64(secondOfDay)) * 1_000_000_000
        for (index, shift) in shifts.enumerated() {
            if shift.endSecond > shift.startSecond {
                if secondOfDay >= shift.startSecond && secondOfDay < shift.endSecond {
                    let start = midnightNs + Int64(shift.startSecond) * 1_000_000_000
                    return (index, start, start + Int64(shift.lengthSeconds) * 1_000_000_000)
                }
            } else if secondOfDay >= shift.startSecond {
                let start = midnightNs + Int64(shift.startSecond) * 1_000_000_000
                return (index, start, start + Int64(shift.lengthSeconds) * 1_000_000_000)
            } else if secondOfDay < shift.endSecond {
                let start = midnightNs - Int64(86_400 - shift.startSecond) * 1_000_000_000
                return (index, start, start + Int64(shift.lengthSeconds) * 1_000_000_000)
            }
        }
        return nil
    }
}
