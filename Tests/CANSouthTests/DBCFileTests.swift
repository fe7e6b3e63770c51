import Testing
import RailgateConfig

/// The DBC subset: what the sample file holds, and malformed input named by line.
struct DBCFileTests {
    @Test func readsTheSampleFile() throws {
        let dbc = SignalCodecTests.dbc
        #expect(dbc.messages.map(\.name) == ["EEC1", "ET1", "BatteryStatus", "BatteryCells", "DriveCommand", "DriveStatus",
                                             "CellVoltagesFD"])
        let eec1 = try #require(dbc.message(named: "EEC1"))
        #expect(eec1.id == 0x0CF004FE && eec1.extended && eec1.length == 8 && eec1.cycleTimeMs == 20 && eec1.line == 17)
        let speed = try #require(eec1.signal(named: "EngineSpeed"))
        #expect(speed.startBit == 24 && speed.length == 16 && speed.littleEndian && !speed.isSigned)
        #expect(speed.factor == 0.125 && speed.offset == 0 && speed.maximum == 8031.875 && speed.unit == "rpm")
        let status = try #require(dbc.message(named: "BatteryStatus"))
        #expect(!status.extended && status.id == 0x400 && status.cycleTimeMs == 100)
        let current = try #require(status.signal(named: "PackCurrent"))
        #expect(!current.littleEndian && current.isSigned)
        #expect(status.signal(named: "ContactorState")?.values == [0: "Open", 1: "Precharge", 2: "Closed", 3: "Welded"])
        let cells = try #require(dbc.message(named: "BatteryCells"))
        #expect(cells.signal(named: "CellGroup")?.multiplex == .multiplexer)
        #expect(cells.signal(named: "CellVoltage3")?.multiplex == .multiplexed(1))
        #expect(dbc.message(named: "DriveStatus")?.signal(named: "MotorTemp")?.valueType == .float32)
    }

    func error(_ text: String) -> String {
        do {
            _ = try DBCFile.parse(text)
            return "accepted"
        } catch {
            return error.description
        }
    }

    @Test func malformedInputIsNamedByLine() {
        let head = "VERSION \"\"\n\nBO_ 100 M1: 8 ECU\n"
        #expect(error(head + " SG_ A : 0|8@1+ (1,0) [0|255] \"\" X\n SG_ A : 8|8@1+ (1,0) [0|255] \"\" X\n")
                == "line 5: signal A appears twice in M1")
        #expect(error(head + " SG_ B : 60|8@1+ (1,0) [0|255] \"\" X\n") == "line 4: signal B does not fit the 8 bytes of M1")
        #expect(error(head + " SG_ C : 0|8@2+ (1,0) [0|255] \"\" X\n")
                == "line 4: signal C: expected start|length@order± (e.g. 24|16@1+), not 0|8@2+")
        #expect(error(head + " SG_ D : 0|8@1+ (0,0) [0|255] \"\" X\n")
                == "line 4: signal D: expected (factor,offset) with a factor other than 0, not (0,0)")
        #expect(error(head + " SG_ E : 0|8@1+ (1,0) [0|255] X\n") == "line 4: signal E: expected the unit in quotes")
        #expect(error(" SG_ F : 0|8@1+ (1,0) [0|255] \"\" X\n") == "line 1: SG_ before any BO_")
        #expect(error("BO_ 4096 Big: 8 ECU\n") == "line 1: standard id 4096 of Big is over 0x7FF")
        #expect(error(head + "CM_ BO_ 100 \"never closed\n") == "line 4: statement is not closed with \";\"")
        #expect(error(head + "VAL_ 100 Missing 0 \"x\" ;\n")
                == "line 4: VAL_ names signal Missing of message 100, which the file does not define")
        #expect(error(head + " SG_ G : 0|16@1+ (1,0) [0|1] \"\" X\nSIG_VALTYPE_ 100 G : 1;\n")
                == "line 5: float signal G must be 32 bits long")
        #expect(error(head + "SG_MUL_VAL_ 100 A M 0-0;\n").hasPrefix("line 4: extended multiplexing"))
    }
}

struct J1939Tests {
    @Test func pgnAndAddressesComeOutOfTheIdentifier() {
        // EEC1 from the engine (SA 0): priority 3, PGN 61444 (PDU2, 0xF004).
        #expect(J1939.pgn(0x0CF0_0400) == 61444 && J1939.sourceAddress(0x0CF0_0400) == 0 && J1939.priority(0x0CF0_0400) == 3)
        // A request (PDU1, PF 0xEA) to address 0x00 from 0xF9: the destination is not part of the PGN.
        #expect(J1939.pgn(0x18EA_00F9) == 0xEA00 && J1939.sourceAddress(0x18EA_00F9) == 0xF9)
        #expect(J1939.pgn(0x18EA_17F9) == 0xEA00)
        // The data page bit belongs to the PGN.
        #expect(J1939.pgn(0x19FE_F100) == 0x1FEF1)
    }
}
