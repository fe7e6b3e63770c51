import Testing
@testable import RailgateConfig
import RailgateCore

/// A valid configuration; tests replace one line to make it wrong.
let validYAML = """
gateway:
  id: gw1
  isa95: {enterprise: acme, site: plant1, area: pack, line: line3}
mqtt:
  host: 127.0.0.1
  port: 1883
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: 5020
    devices:
      - name: meter1
        unit: 1
        poll_ms: 500
        tags:
          - {name: voltage, ref: 400001, type: float32, unit: V}
          - {name: speed, table: holding-register, address: 5, type: uint16}
          - {name: serial, ref: 400021, type: string, length: 8}
          - {name: run, ref: 400017, type: bool, bit: 0}
          - {name: coil0, ref: "00001"}
  - name: rtu1
    protocol: modbus-rtu
    serial: {device: /dev/ttyS1, baud: 19200, parity: E, data_bits: 8, stop_bits: 1}
    devices:
      - name: drive1
        unit: 2
        tags:
          - {name: freq, ref: 300001, type: int16, scale: 0.01, unit: Hz, deadband_percent: 1, range: [0, 50]}

"""

/// Replaces the first occurrence of `old` in the valid YAML, loads it and
/// returns the issues (none if it loaded).
func issues(replacing old: String, with new: String) -> [ConfigIssue] {
    precondition(validYAML.contains(old), "fixture does not contain \(old)")
    let yaml = validYAML.replacingOccurrences(of: old, with: new)
    do {
        _ = try Configuration.load(yaml: yaml)
        return []
    } catch {
        return error.issues
    }
}

extension String {
    func replacingOccurrences(of old: String, with new: String) -> String {
        guard let range = range(of: old) else { return self }
        return replacingCharacters(in: range, with: new)
    }
}

struct ConfigurationTests {
    @Test func validConfigurationLoads() throws {
        let config = try Configuration.load(yaml: validYAML)
        #expect(config.gateway.id == "gw1")
        #expect(config.gateway.writesEnabled == false)
        #expect(config.buses.count == 2)
        let tags = config.tags()
        #expect(tags.map(\.path).first == "acme/plant1/pack/line3/meter1/voltage")
        #expect(tags.count == 6)
        let meter = config.buses[0].devices[0]
        #expect(meter.tags[0].table == .holdingRegister && meter.tags[0].address == 0)
        #expect(meter.tags[4].table == .coil && meter.tags[4].address == 0 && meter.tags[4].type == .bool)
        guard case .rtu(let serial) = config.buses[1].link else { Issue.record("expected RTU"); return }
        #expect(serial.parity == .even)
        // 1 % of the 0…50 range.
        #expect(tags[5].deadband == 0.5)
        #expect(tags[5].kind == .double)
        #expect(config.mqtt?.clientID == "gw1")
    }

    @Test func unknownTypeNamesPathAndLine() {
        let found = issues(replacing: "type: float32, unit: V", with: "type: flaot32, unit: V")
        #expect(found.count == 1)
        #expect(found.first?.path == "south[0].devices[0].tags[0].type")
        #expect(found.first?.line == 17)
        #expect(found.first?.message.contains("unknown type \"flaot32\"") == true)
    }

    @Test func unknownUnitNamesPathLineAndTheClosestUnits() {
        let found = issues(replacing: "type: float32, unit: V", with: "type: float32, unit: degc")
        #expect(found.count == 1)
        #expect(found.first?.path == "south[0].devices[0].tags[0].unit")
        #expect(found.first?.line == 17)
        #expect(found.first?.message.hasPrefix("unknown unit \"degc\": write its UNECE code (CEL), UCUM code (Cel) or symbol (°C); closest: ") == true)
        #expect(found.first?.message.contains("degC (°C, degree Celsius)") == true)
        for known in ["CEL", "Cel", "°C", "degC", "kWh", "%", "rpm"] {
            #expect(issues(replacing: "type: float32, unit: V", with: "type: float32, unit: \"\(known)\"").isEmpty, "\(known)")
        }
    }

    @Test func aPublishUnitConvertsInTheScalingAndRefusesWhatCannotConvert() throws {
        let yaml = validYAML.replacingOccurrences(of: "type: float32, unit: V",
                                                          with: "type: int16, scale: 0.1, unit: Cel, publish_unit: degF")
        let tag = try #require(try Configuration.load(yaml: yaml).tags().first)
        #expect(tag.unit == "degF" && tag.kind == .double)
        #expect(tag.scaling.apply(-125) == 9.5 && tag.scaling.invert(9.5) == -125)
        let refused: [(String, String)] = [
            ("type: float32, unit: W, publish_unit: Cel", "W (watt, power) does not convert to Cel (degree Celsius, temperature)"),
            ("type: float32, publish_unit: Cel", "needs unit: the unit the device reports in"),
            ("type: float32, unit: V, publish_unit: volts", "unknown unit \"volts\""),
            ("type: float32, unit: pH, publish_unit: \"1\"", "pH (pH (potential of Hydrogen)) does not convert to 1 (one, ratio)"),
        ]
        for (settings, message) in refused {
            let found = issues(replacing: "type: float32, unit: V", with: settings)
            #expect(found.map(\.path) == ["south[0].devices[0].tags[0].publish_unit"], "\(settings)")
            #expect(found.first?.message.contains(message) == true, "\(settings): \(found)")
        }
    }

    @Test func tagsReferToCodeMapsByName() throws {
        let yaml = validYAML.replacingOccurrences(of: "south:\n", with: "maps:\n  material:\n    1001: MAT-4711-A\n    \"1002\": MAT-4711-B\n    -1: NONE\nsouth:\n")
            .replacingOccurrences(of: "address: 5, type: uint16}", with: "address: 5, type: uint16, map: material}")
        let configuration = try Configuration.load(yaml: yaml)
        let speed = try #require(configuration.tags().first { $0.name == "speed" })
        #expect(speed.codes?.name == "material")
        #expect(speed.codes?.values == [-1, 1001, 1002])
        #expect(speed.codes?.code(for: 1002) == "MAT-4711-B")
        #expect(configuration.maps.keys.sorted() == ["material"])
    }

    @Test func badMapsAndReferencesAreRefusedWithPathAndLine() {
        let maps = "maps:\n  material:\n    1001: MAT-4711-A\n  reason:\n    x1: JAM\n    1: \"\"\n    01: again\n    001: thrice\n  empty: {}\n  list: [1, 2]\nsouth:\n"
        let found = issues(replacing: "south:\n", with: maps)
        #expect(found.map(\.path) == ["maps.reason.x1", "maps.reason.1", "maps.reason.001", "maps.empty", "maps.list"], "\(found)")
        #expect(found.map(\.line) == [11, 12, 14, 15, 16])
        #expect(found[0].message == "\"x1\" is not an integer: a map's keys are the raw values a device reports")
        #expect(found[1].message == "expected the code for 1, a non-empty text")
        #expect(found[2].message == "1 is mapped twice (first at line 13)")
        #expect(found[3].message == "a map needs at least one entry")

        let withMap = "maps:\n  material:\n    1001: MAT-4711-A\nsouth:\n"
        func refused(_ settings: String) -> [ConfigIssue] {
            let yaml = validYAML.replacingOccurrences(of: "south:\n", with: withMap)
                .replacingOccurrences(of: "type: float32, unit: V", with: settings)
            do { _ = try Configuration.load(yaml: yaml); return [] } catch { return error.issues }
        }
        let cases: [(String, String, String)] = [
            ("type: uint16, map: materail", "map", "unknown map \"materail\"; did you mean \"material\"?"),
            ("type: uint16, map: recipes", "map", "unknown map \"recipes\" (maps: material)"),
            ("type: float32, map: material", "map", "a map translates integer codes; a float32 tag cannot have one"),
            ("type: uint16, scale: 0.1, map: material", "map", "a mapped tag is published raw: remove scale, offset and publish_unit"),
            ("type: uint16, deadband: 1, map: material", "deadband", "a mapped tag publishes every change of code: remove deadband"),
            ("type: uint16, unit: V, map: material", "unit", "a mapped tag carries codes, not a quantity: remove unit"),
        ]
        for (settings, key, message) in cases {
            let found = refused(settings)
            #expect(found.map(\.path) == ["south[0].devices[0].tags[0].\(key)"], "\(settings): \(found)")
            #expect(found.first?.message == message, "\(settings)")
            #expect(found.first?.line == 20, "\(settings)")
        }
        // A tag naming a map that has problems of its own gets no second message.
        let yaml = validYAML.replacingOccurrences(of: "south:\n", with: "maps:\n  material: {x: y}\nsouth:\n")
            .replacingOccurrences(of: "type: float32, unit: V", with: "type: uint16, map: material")
        do {
            _ = try Configuration.load(yaml: yaml)
            Issue.record("a broken map was accepted")
        } catch {
            #expect(error.issues.map(\.path) == ["maps.material.x"])
        }
    }

    @Test func identitiesNameEquipmentWorkCenterAndLevel() throws {
        let yaml = "identity:\n  meter1: {equipment_id: MTR-01, work_center: PACK-L3, description: Main meter}\n"
            + "  drive1: {equipment_id: DRV-01, level: equipment_module}\n" + validYAML
        let configuration = try Configuration.load(yaml: yaml)
        #expect(configuration.identities["meter1"] == EquipmentIdentity(equipmentId: "MTR-01", workCenter: "PACK-L3",
                                                                        level: .workUnit, description: "Main meter"))
        #expect(configuration.identities["drive1"]?.level == .equipmentModule)
        let devices = DeviceTable(tags: configuration.tags(), identities: configuration.identities)
        #expect(devices.topicName(0, byEquipment: true) == "MTR-01" && devices.topicName(0, byEquipment: false) == "meter1")
    }

    @Test func badIdentitiesAreRefusedWithPathAndLine() {
        func refused(_ identity: String) -> [ConfigIssue] {
            do { _ = try Configuration.load(yaml: "identity:\n" + identity + validYAML); return [] } catch { return error.issues }
        }
        let cases: [(String, String, String)] = [
            ("  meter: {equipment_id: M1}\n", "identity.meter", "no device \"meter\" in south; did you mean \"meter1\"?"),
            ("  meter1: {work_center: W1}\n", "identity.meter1", "missing required key \"equipment_id\""),
            ("  meter1: {equipment_id: \"M/1\"}\n", "identity.meter1.equipment_id", "\"M/1\" may contain only letters, digits, _, - and . (it becomes part of tag paths and MQTT topics)"),
            ("  meter1: {equipment_id: M1, level: cell}\n", "identity.meter1.level", "unknown equipment level \"cell\" (expected one of: enterprise, site, area, process_cell, unit, production_line, work_cell, production_unit, storage_zone, storage_unit, work_center, work_unit, equipment_module, control_module, other)"),
            ("  meter1: {equipment_id: M1}\n  drive1: {equipment_id: M1}\n", "identity.drive1.equipment_id", "equipment id \"M1\" is also device meter1's"),
            ("  meter1: {equipment_id: M1, work_center: D1}\n  drive1: {equipment_id: D1}\n", "identity.meter1.work_center", "work center \"D1\" is device drive1's equipment id; give the work center an id of its own"),
            ("  meter1: {equipment_id: drive1}\n", "identity.meter1.equipment_id", "equipment id \"drive1\" is the name of another device"),
            ("  meter1: {equipment_id: M1, site: x}\n", "identity.meter1.site", "unknown key \"site\" (expected one of: description, equipment_id, level, work_center)"),
        ]
        for (identity, path, message) in cases {
            let found = refused(identity)
            #expect(found.map(\.path) == [path], "\(identity): \(found)")
            #expect(found.first?.message == message, "\(identity)")
        }
    }

    static let kpi = """
    kpi:
      state_file: /tmp/kpi.json
      shifts:
        - {name: early, start: "06:00", end: "14:00"}
        - {name: night, start: "22:00", end: "06:00"}
      machines:
        - name: line3
          state: {tag: meter1/speed, running: [1], idle: [2], stopped: [0], down: [3]}
          total: meter1/speed
          good: meter1/speed
          ideal_cycle_s: 0.5

    """

    @Test func kpiMachinesGetTheirTagsAndPublishTagsOfTheirOwn() throws {
        let configuration = try Configuration.load(yaml: Self.kpi + validYAML)
        let tags = configuration.tags()
        let machines = configuration.kpiMachines(tags: tags)
        #expect(machines.count == 1)
        let machine = try #require(machines.first)
        #expect(tags[machine.stateTag].path == "acme/plant1/pack/line3/meter1/speed")
        #expect(machine.counterModulus == 65536 && machine.idealCycleNs == 500_000_000)
        #expect(tags[machine.firstOutput].path == "acme/plant1/pack/line3/line3/state")
        #expect(tags.count - machine.firstOutput == KPIOutput.allCases.count)
        #expect(configuration.kpi?.shifts.map(\.lengthSeconds) == [8 * 3600, 8 * 3600])
        #expect(machine.state(of: 3) == .down && machine.state(of: 9) == .unknown)
    }

    @Test func badKPIsAreRefusedWithPathAndLine() {
        func refused(_ old: String, _ new: String) -> [ConfigIssue] {
            precondition(Self.kpi.contains(old), old)
            do { _ = try Configuration.load(yaml: Self.kpi.replacingOccurrences(of: old, with: new) + validYAML); return [] }
            catch { return error.issues }
        }
        let cases: [(String, String, String, Int, String)] = [
            ("total: meter1/speed", "total: meter1/sped", "kpi.machines[0].total", 9, "no tag \"meter1/sped\"; did you mean \"meter1/speed\"?"),
            ("good: meter1/speed", "good: meter1/voltage", "kpi.machines[0].good", 10, "meter1/voltage is a float32 tag; a machine reads integer states and counts"),
            ("{name: night, start: \"22:00\", end: \"06:00\"}", "{name: night, start: \"13:00\", end: \"06:00\"}", "kpi.shifts[1]", 5,
             "shift night overlaps shift early (line 4); a moment belongs to one shift"),
            ("start: \"06:00\"", "start: \"6h\"", "kpi.shifts[0].start", 4, "expected a local time HH:MM or HH:MM:SS, found \"6h\""),
            ("running: [1], idle: [2]", "running: [1], idle: [1]", "kpi.machines[0].state.idle[0]", 8, "1 is already a running state"),
            ("ideal_cycle_s: 0.5", "ideal_cycle_s: 0", "kpi.machines[0].ideal_cycle_s", 11, "must be more than 0 and at most 86400 seconds"),
            ("running: [1], idle: [2]", "idle: [2]", "kpi.machines[0].state", 8, "give the state values that mean running (running: [1])"),
        ]
        for (old, new, path, line, message) in cases {
            let found = refused(old, new)
            #expect(found.map(\.path) == [path], "\(new): \(found)")
            #expect(found.first?.line == line, "\(new)")
            #expect(found.first?.message == message, "\(new)")
        }
    }

    @Test func overlappingAddresses() {
        let found = issues(replacing: "address: 5, type: uint16", with: "address: 1, type: uint16")
        #expect(found.map(\.path) == ["south[0].devices[0].tags[1]"])
        #expect(found.first?.message.contains("overlaps tag \"voltage\"") == true)
        #expect(found.first?.line == 18)
    }

    @Test func bitsOfOneRegisterMayShareIt() {
        let found = issues(replacing: "- {name: coil0, ref: \"00001\"}",
                           with: "- {name: run2, ref: 400017, type: bool, bit: 1}")
        #expect(found.isEmpty)
        let same = issues(replacing: "- {name: coil0, ref: \"00001\"}",
                          with: "- {name: run2, ref: 400017, type: bool, bit: 0}")
        #expect(same.first?.message.contains("overlaps") == true)
    }

    @Test func addressOutOfRange() {
        let pastEnd = issues(replacing: "address: 5, type: uint16", with: "address: 65535, type: uint32")
        #expect(pastEnd.first?.path == "south[0].devices[0].tags[1].address")
        #expect(pastEnd.first?.message.contains("past the last address 65535") == true)
        let negative = issues(replacing: "address: 5, type: uint16", with: "address: -1, type: uint16")
        #expect(negative.first?.message.contains("out of range 0...65535") == true)
        let badRef = issues(replacing: "ref: 400001,", with: "ref: 470000,")
        #expect(badRef.first?.path == "south[0].devices[0].tags[0].ref")
    }

    @Test func registerCountOver125() {
        let found = issues(replacing: "type: string, length: 8", with: "type: string, length: 126")
        #expect(found.first?.path == "south[0].devices[0].tags[2].length")
        #expect(found.first?.message.contains("126 registers") == true)
        let device = issues(replacing: "poll_ms: 500", with: "poll_ms: 500\n        max_registers: 200")
        #expect(device.first?.path == "south[0].devices[0].max_registers")
    }

    @Test func stringLengthZero() {
        let found = issues(replacing: "type: string, length: 8", with: "type: string, length: 0")
        #expect(found.first?.path == "south[0].devices[0].tags[2].length")
        #expect(found.first?.line == 19)
    }

    @Test func unknownSerialParity() {
        let found = issues(replacing: "parity: E", with: "parity: X")
        #expect(found.map(\.path) == ["south[1].serial.parity"])
        #expect(found.first?.message == "unknown parity \"X\" (expected N, E or O)")
        #expect(found.first?.line == 24)
    }

    @Test func duplicateTagName() {
        let found = issues(replacing: "name: speed,", with: "name: voltage,")
        #expect(found.map(\.path) == ["south[0].devices[0].tags[1].name"])
        #expect(found.first?.message.contains("duplicate tag name \"voltage\"") == true)
    }

    @Test func missingSerialDevice() {
        let found = issues(replacing: "{device: /dev/ttyS1, baud", with: "{baud")
        #expect(found.map(\.path) == ["south[1].serial"])
        #expect(found.first?.message == "missing required key \"device\"")
    }

    @Test func busWithoutDevices() {
        let yaml = validYAML[..<validYAML.range(of: "  - name: rtu1")!.lowerBound] + """
          - name: rtu1
            protocol: modbus-rtu
            serial: {device: /dev/ttyS1}
            devices: []

        """
        do {
            _ = try Configuration.load(yaml: String(yaml))
            Issue.record("expected an error")
        } catch {
            #expect(error.issues.map(\.path) == ["south[1].devices"])
            #expect(error.issues.first?.message == "a bus needs at least one device")
        }
    }

    @Test func everyErrorIsCollected() {
        var yaml = validYAML.replacingOccurrences(of: "type: float32, unit: V", with: "type: flaot32, unit: V")
        yaml = yaml.replacingOccurrences(of: "parity: E", with: "parity: X")
        yaml = yaml.replacingOccurrences(of: "name: speed,", with: "name: voltage,")
        do {
            _ = try Configuration.load(yaml: yaml)
            Issue.record("expected errors")
        } catch {
            #expect(error.issues.count == 3)
            var described = error
            described.file = "gw.yaml"
            #expect(described.description.contains("gw.yaml:17: south[0].devices[0].tags[0].type: unknown type \"flaot32\""))
        }
    }

    @Test func unknownKeysAreTypos() {
        let found = issues(replacing: "poll_ms: 500", with: "pol_ms: 500")
        #expect(found.first?.path == "south[0].devices[0].pol_ms")
        #expect(found.first?.message.contains("unknown key \"pol_ms\"") == true)
    }

    @Test func readOnlyTablesCannotBeWritable() {
        let found = issues(replacing: "unit: Hz, deadband_percent", with: "writable: true, unit: Hz, deadband_percent")
        #expect(found.first?.message == "input-registers are read-only in Modbus")
    }

    @Test func percentDeadbandNeedsRange() {
        let found = issues(replacing: ", range: [0, 50]", with: "")
        #expect(found.first?.path == "south[1].devices[0].tags[0].deadband_percent")
    }

    @Test func yamlSyntaxErrorHasALine() {
        do {
            _ = try Configuration.load(yaml: "gateway:\n  id: [unclosed\n")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.issues.first?.line != nil)
            #expect(error.issues.first?.message.hasPrefix("YAML syntax") == true)
        }
    }

    @Test func rtuUnitMustBeAnIndividualAddress() {
        let found = issues(replacing: "unit: 2", with: "unit: 248")
        #expect(found.first?.path == "south[1].devices[0].unit")
    }

    @Test func namesMustBeTopicSafe() {
        let found = issues(replacing: "name: meter1", with: "name: meter/1")
        #expect(found.first?.path == "south[0].devices[0].name")
    }

    @Test func modiconReferences() {
        #expect(ModbusTable.parseReference("40001")! == (.holdingRegister, 0))
        #expect(ModbusTable.parseReference("465536")! == (.holdingRegister, 65535))
        #expect(ModbusTable.parseReference("30010")! == (.inputRegister, 9))
        #expect(ModbusTable.parseReference("10001")! == (.discreteInput, 0))
        #expect(ModbusTable.parseReference("00001")! == (.coil, 0))
        #expect(ModbusTable.parseReference("40000") == nil)
        #expect(ModbusTable.parseReference("20001") == nil)
        #expect(ModbusTable.parseReference("4001") == nil)
    }
}
