import Testing
@testable import ModbusSouth
@testable import RailgateConfig
import RailgateCore

func tag(_ name: String, _ table: ModbusTable, _ address: Int, _ type: DataType = .uint16, length: Int = 0,
         bit: Int? = nil) -> TagConfig {
    TagConfig(name: name, table: table, address: address, type: type, order: .abcd, bit: bit, length: length,
              scaling: .identity, unit: nil, absoluteDeadband: 0, range: nil, writable: false, writeMultiple: false)
}

func device(_ tags: [TagConfig], maxGap: Int = 8, maxRegisters: Int = 125, maxBits: Int = 2000) -> DeviceConfig {
    DeviceConfig(name: "d", unit: 1, pollMs: 1000, maxGap: maxGap, maxRegisters: maxRegisters, maxBits: maxBits, tags: tags)
}

struct ReadPlanTests {
    @Test func mergesAcrossSmallGapsOnly() {
        let plan = ReadPlan(device: device([
            tag("a", .holdingRegister, 0, .float32),
            tag("b", .holdingRegister, 10),      // gap of 8 after a (2…9): merged
            tag("c", .holdingRegister, 20),      // gap of 9: new read
        ]), firstTag: 0)
        #expect(plan.reads.map { [$0.start, $0.count] } == [[0, 11], [20, 1]])
        #expect(plan.steps.map(\.offset) == [0, 10, 0])
    }

    @Test func neverAcrossTables() {
        let plan = ReadPlan(device: device([
            tag("h", .holdingRegister, 0), tag("i", .inputRegister, 1), tag("c", .coil, 0, .bool),
            tag("d", .discreteInput, 0, .bool),
        ]), firstTag: 0)
        #expect(plan.reads.map(\.table) == [.coil, .discreteInput, .inputRegister, .holdingRegister])
    }

    @Test func respectsTheRegisterAndBitLimits() {
        let registers = (0..<300).map { tag("r\($0)", .holdingRegister, $0) }
        let plan = ReadPlan(device: device(registers), firstTag: 0)
        #expect(plan.reads.map(\.count) == [125, 125, 50])
        let bits = (0..<4500).map { tag("b\($0)", .coil, $0, .bool) }
        #expect(ReadPlan(device: device(bits), firstTag: 0).reads.map(\.count) == [2000, 2000, 500])
        let small = ReadPlan(device: device(registers, maxRegisters: 10), firstTag: 0)
        #expect(small.reads.count == 30)
    }

    @Test func aMultiRegisterTagIsNeverSplit() {
        let tags = [tag("a", .holdingRegister, 0, .string, length: 100), tag("b", .holdingRegister, 100, .float64),
                    tag("c", .holdingRegister, 124, .float32)]
        let plan = ReadPlan(device: device(tags), firstTag: 0)
        // a+b = 104 registers; c would end at 126 > 125, so it starts a new read.
        #expect(plan.reads.map { [$0.start, $0.count] } == [[0, 104], [124, 2]])
    }

    @Test func bitsSharingARegisterCostOneRead() {
        let plan = ReadPlan(device: device([
            tag("b0", .holdingRegister, 16, .bool, bit: 0), tag("b1", .holdingRegister, 16, .bool, bit: 1),
            tag("w", .holdingRegister, 17),
        ]), firstTag: 5)
        #expect(plan.reads.map { [$0.start, $0.count] } == [[16, 2]])
        #expect(plan.steps.map(\.tag) == [5, 6, 7])
        #expect(plan.steps.map(\.bit) == [0, 1, 0])
    }

    @Test func zeroGapStillMergesAdjacentTags() {
        let plan = ReadPlan(device: device([tag("a", .holdingRegister, 0, .uint32), tag("b", .holdingRegister, 2),
                                            tag("c", .holdingRegister, 4)], maxGap: 0), firstTag: 0)
        #expect(plan.reads.map { [$0.start, $0.count] } == [[0, 3], [4, 1]])
    }

    /// The benchmark map: 200 tags scattered over the holding table.
    @Test func scatteredMapOf200Tags() {
        // Deterministic scatter: addresses 0, 7, 14, … with every 10th tag 300 registers further.
        let tags = (0..<200).map { i in tag("t\(i)", .holdingRegister, i * 7 + (i / 10) * 300) }
        let plan = ReadPlan(device: device(tags), firstTag: 0)
        #expect(plan.reads.count == 20)
        #expect(plan.steps.count == 200)
    }
}
