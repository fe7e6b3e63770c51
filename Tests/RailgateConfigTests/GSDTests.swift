import Foundation
@testable import RailgateConfig
import Testing

@Suite struct GSDTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func readsTheSampleModularStation() throws {
        let gsd = try GSDFile.load(file: Self.root.appendingPathComponent("hardware/gsd/RG_IO.gsd").path)
        #expect(gsd.identNumber == 0x5247 && gsd.modular && gsd.maxModules == 4)
        #expect(gsd.baudRates.contains(187_500) && gsd.baudRates.contains(1_500_000) && !gsd.baudRates.contains(12_000_000))
        #expect(gsd.maxTsdr[1_500_000] == 150)
        #expect(gsd.modules.map(\.name) == ["8 DI", "8 DO", "2 AI word", "2 AO word", "4 byte in/out"])
        #expect(gsd.module(named: "2 ai WORD")?.config == [0x51])
        // ExtUserPrmData 1 "Input filter": Unsigned8 default 3 at offset 0.
        #expect(gsd.parameters == [3])
        #expect(gsd.vendor == "Railgate")
    }

    @Test func continuationsCommentsBitAreasAndModuleParameters() throws {
        let text = """
        #Profibus_DP
        ; a comment
        Ident_Number = 0x00A1 ; trailing comment
        Model_Name = "X; not a comment"
        ExtUserPrmData = 1 "Mode"
        BitArea(4-6) 5 0-7
        EndExtUserPrmData
        ExtUserPrmData = 2 "Fast"
        Bit(0) 1 0-1
        EndExtUserPrmData
        Ext_User_Prm_Data_Const(0) = 0x00, 0x00
        Ext_User_Prm_Data_Ref(0) = 1
        Ext_User_Prm_Data_Ref(0) = 2
        Modular_Station = 1
        Module = "Mixed" 0xC0, 0x41, \\
                 0x43
        Ext_Module_Prm_Data_Len = 2
        Ext_User_Prm_Data_Const(0) = 0x07, 0x08
        EndModule
        """
        let gsd = try GSDFile.parse(text)
        #expect(gsd.identNumber == 0xA1 && gsd.model == "X; not a comment")
        #expect(gsd.parameters == [0x51, 0x00])
        #expect(gsd.modules == [GSDFile.Module(name: "Mixed", config: [0xC0, 0x41, 0x43], parameters: [7, 8], line: 15)])
        #expect(DPConfigSizes.of([0xC0, 0x41, 0x43]) == DPConfigSizes(inputs: 8, outputs: 4))
    }

    @Test func errorsNameTheLine() {
        func error(_ text: String) -> GSDFile.ParseError? {
            do { _ = try GSDFile.parse(text); return nil } catch { return error }
        }
        #expect(error("Ident_Number = 1\n") == .init(line: 1, message: "not a GSD file: the #Profibus_DP line is missing"))
        #expect(error("#Profibus_DP\nVendor_Name = \"x\"\n")?.message == "Ident_Number is missing")
        #expect(error("#Profibus_DP\nIdent_Number = zz\n") == .init(line: 2, message: "Ident_Number: expected a number, found \"zz\""))
        #expect(error("#Profibus_DP\nIdent_Number = 1\nModule = \"A\" 0x10\n")?.line == 3)
        #expect(error("#Profibus_DP\nIdent_Number = 1\nModule = \"A\"\nEndModule\n")?.message == "Module \"A\" has no identifier octets")
        #expect(error("#Profibus_DP\nIdent_Number = 1\nExt_User_Prm_Data_Ref(0) = 9\n")?.line == 3)
        #expect(error("#Profibus_DP\nIdent_Number = 1\nbroken line\n") == .init(line: 3, message: "expected \"keyword = value\", found \"broken line\""))
    }

    @Test func lengthsAndOffsetsFromTheFileAreBounded() {
        func error(_ body: String) -> GSDFile.ParseError? {
            do { _ = try GSDFile.parse("#Profibus_DP\nIdent_Number = 1\n" + body); return nil } catch { return error }
        }
        #expect(error("User_Prm_Data_Len = -1\n") == .init(line: 3, message: "User_Prm_Data_Len = -1: user parameters are 0…237 octets (Set_Prm carries 244, 7 of them standard)"))
        #expect(error("Module = \"A\" 0x10\nExt_Module_Prm_Data_Len = 9223372036854775807\nEndModule\n")?.line == 4)
        #expect(error("Ext_User_Prm_Data_Const(9223372036854775807) = 1\n")?.message
            == "Ext_User_Prm_Data_Const(9223372036854775807): offset 9223372036854775807 is past the 237 octets of user parameters Set_Prm can carry")
        #expect(error("ExtUserPrmData = 1 \"x\"\nBit(0) 1 0-1\nEndExtUserPrmData\nExt_User_Prm_Data_Ref(236) = 1\n") == nil)
        #expect(error("Ext_User_Prm_Data_Const(236) = 1, 2\n")?.line == 3)
    }

    @Test func configSizesCoverGeneralAndSpecialIdentifiers() {
        #expect(DPConfigSizes.of([0x10, 0x51, 0x20, 0x61]) == DPConfigSizes(inputs: 5, outputs: 5))
        #expect(DPConfigSizes.of([0x71]) == DPConfigSizes(inputs: 4, outputs: 4))
        #expect(DPConfigSizes.of([0x33]) == DPConfigSizes(inputs: 4, outputs: 4))
        #expect(DPConfigSizes.of([0x00, 0x10]) == DPConfigSizes(inputs: 1, outputs: 0))
        // Special format: output and input length octets, then two vendor octets.
        #expect(DPConfigSizes.of([0xC2, 0x43, 0x01, 0xAA, 0xBB]) == DPConfigSizes(inputs: 2, outputs: 8))
        #expect(DPConfigSizes.of([0x40]) == nil)
    }
}
