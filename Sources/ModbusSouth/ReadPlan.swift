import RailgateConfig
import RailgateCore

/// One Modbus read request of a device's cycle and the tags it feeds.
public struct PlannedRead: Sendable, Equatable {
    public var table: ModbusTable
    /// First 0-based address and number of registers (or bits).
    public var start: Int
    public var count: Int
    /// The decode steps of this read: `plan.steps[steps]`.
    public var steps: Range<Int>
}

/// How to turn part of a read's buffer into one tag's sample. Trivial value:
/// the sampling loop walks these by index and allocates nothing. One per tag, kept while the
/// device polls: the small numbers are stored small (48 bytes a step, not 72).
public struct DecodeStep: Sendable, Equatable {
    /// Index of the tag in the gateway's tag list (sample tag index).
    public var tag: UInt32
    /// Offset of the tag's first register (or bit) from the read's start (< 2000).
    public var offset: Int { Int(storedOffset) }
    public var type: DataType
    public var order: ByteOrder
    /// Bit of a register (0–15).
    public var bit: Int { Int(storedBit) }
    /// Registers of a string (≤ 125).
    public var stringLength: Int { Int(storedLength) }
    public var scaling: Scaling
    private var storedOffset: UInt16
    private var storedBit: UInt8
    private var storedLength: UInt16

    public init(tag: UInt32, offset: Int, type: DataType, order: ByteOrder, bit: Int, stringLength: Int, scaling: Scaling) {
        self.tag = tag
        self.type = type
        self.order = order
        self.scaling = scaling
        // A plan's reads span at most 2000 bits or 125 registers: these always fit.
        storedOffset = UInt16(clamping: offset)
        storedBit = UInt8(clamping: bit)
        storedLength = UInt16(clamping: stringLength)
    }
}

/// The fewest reads that cover a device's tags.
///
/// Tags are grouped per table (never across tables; a plan is per device, so
/// never across unit ids), sorted by address, and merged into one read while
/// the hole between them is at most `maxGap` and the read stays within
/// `maxRegisters` (≤ 125) registers or `maxBits` (≤ 2000) bits.
public struct ReadPlan: Sendable, Equatable {
    public var unit: Int
    public var reads: [PlannedRead]
    public var steps: [DecodeStep]

    /// - Parameter firstTag: index of the device's first tag in the gateway's tag list.
    public init(device: DeviceConfig, firstTag: Int) {
        unit = device.unit
        reads = []
        steps = []
        steps.reserveCapacity(device.tags.count)  // one step a tag, kept while the device polls
        for table in ModbusTable.allCases {
            let members = device.tags.indices
                .filter { device.tags[$0].table == table }
                .sorted { (device.tags[$0].address, $0) < (device.tags[$1].address, $1) }
            guard !members.isEmpty else { continue }
            let limit = table.isBits ? device.maxBits : device.maxRegisters
            var group: [Int] = []
            var start = 0
            var end = 0  // one past the last address covered
            func close() {
                let first = steps.count
                for index in group {
                    let tag = device.tags[index]
                    steps.append(DecodeStep(
                        tag: UInt32(firstTag + index), offset: tag.address - start, type: tag.type,
                        order: tag.order, bit: tag.bit ?? 0, stringLength: tag.length, scaling: tag.scaling))
                }
                reads.append(PlannedRead(table: table, start: start, count: end - start, steps: first..<steps.count))
            }
            for index in members {
                let tag = device.tags[index]
                let tagEnd = tag.address + tag.count
                if !group.isEmpty && tag.address - end <= device.maxGap && max(end, tagEnd) - start <= limit {
                    group.append(index)
                    end = max(end, tagEnd)
                } else {
                    if !group.isEmpty { close() }
                    group = [index]
                    start = tag.address
                    end = tagEnd
                }
            }
            close()
        }
    }

    /// Registers or bits read per cycle, gaps included.
    public var wordsPerCycle: Int { reads.reduce(0) { $0 + $1.count } }
}

extension ReadPlan: CustomStringConvertible {
    /// One line per read, e.g. `unit 1 holding-register 0…9 (10) → 4 tags`.
    public var description: String {
        reads.map { read in
            "unit \(unit) \(read.table) \(read.start)…\(read.start + read.count - 1) (\(read.count)) → \(read.steps.count) tag\(read.steps.count == 1 ? "" : "s")"
        }.joined(separator: "\n")
    }
}
