import Foundation
import RailgateConfig
import Testing

@Suite struct ProfibusConfigTests {
    static let gsdDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("hardware/gsd").path

    func yaml(line: String = "", slave: String = "", tags: String = "[{name: di, area: input, byte: 0}]") -> String {
        """
        gateway: {id: gw, isa95: {enterprise: acme}}
        south:
          - name: dp1
            protocol: profibus-dp
            serial: {device: /dev/ttyS1, baud: 187500}
            master_address: 2
        \(line)
            slaves:
              - name: io5
                address: 5
                gsd: RG_IO.gsd
                modules: ["8 DI", "2 AI word", "8 DO"]
        \(slave)
                tags: \(tags)
        """
    }

    func issues(_ text: String) -> [String] {
        do {
            _ = try Configuration.load(yaml: text, baseDirectory: Self.gsdDirectory)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func aValidLineResolvesModulesFromTheGSD() throws {
        let config = try Configuration.load(yaml: yaml(tags: """
            [{name: di, area: input, byte: 0}, {name: t, area: input, byte: 1, type: int16, scale: 0.1},
                       {name: lamp, area: output, byte: 0, bit: 1, writable: true}]
            """), baseDirectory: Self.gsdDirectory)
        let line = try #require(config.profibus.first)
        #expect(line.slotTimeBits == 100 && line.serial.parity == .even && line.masterAddress == 2)
        let slave = try #require(line.slaves.first)
        #expect(slave.identNumber == 0x5247 && slave.configBytes == [0x10, 0x51, 0x20])
        #expect(slave.inputBytes == 5 && slave.outputBytes == 1 && slave.userParameters == [3])
        #expect(slave.watchdogMs == 1000)
        let tags = config.tags()
        #expect(tags.map(\.path) == ["acme/io5/di", "acme/io5/t", "acme/io5/lamp"])
        #expect(tags[0].dataType == .uint8 && tags[2].dataType == .bool && tags[2].writable)
    }

    @Test func badInputIsNamed() {
        #expect(issues(yaml(line: "    slot_time_bits: 50")).contains {
            $0.contains("south[0].slaves[0].gsd: slave io5: its MaxTsdr at 187500 bit/s is 60 bit times, longer than the slot time 50")
        })
        #expect(issues(yaml().replacingOccurrences(of: "baud: 187500", with: "baud: 115200")).contains {
            $0.contains("south[0].serial.baud: 115200 is not a PROFIBUS baud rate")
        })
        #expect(issues(yaml().replacingOccurrences(of: "address: 5", with: "address: 2")).contains {
            $0.contains("south[0].slaves[0].address: 2 is the master's own address")
        })
        #expect(issues(yaml(tags: "[{name: di, area: input, byte: 0, writable: true}]")).contains {
            $0.contains("tags[0].writable: inputs come from the slave; only output tags are writable")
        })
        #expect(issues(yaml(tags: "[{name: di, area: output, byte: 1}]")).contains {
            $0.contains("tags[0].byte: uint8 at octet 1 ends at 1, past the 1 output octets the modules provide")
        })
        #expect(issues(yaml(tags: "[{name: di, area: inputs, byte: 0}]")).contains {
            $0.contains("tags[0].area: unknown area \"inputs\" (expected input or output)")
        })
        #expect(issues(yaml(tags: "[{name: a, area: output, byte: 0, writable: true}, {name: b, area: output, byte: 0, bit: 1, writable: true}]")).contains {
            $0.contains("tags[1]: output octets 0…0 overlap tag \"a\"; two writable tags cannot share octets")
        })
        #expect(issues(yaml(slave: "        user_prm: \"zz\"")).contains { $0.contains("user_prm: expected up to 237 hex octets") })
        #expect(issues(yaml().replacingOccurrences(of: "RG_IO.gsd", with: "missing.gsd")).contains {
            $0.contains("gsd: slave io5: GSD \(Self.gsdDirectory)/missing.gsd: cannot read the file")
        })
    }

    @Test func userParametersPastWhatSetPrmCarriesAreNamed() throws {
        // Each module brings 200 octets of parameters: two of them need a 407-octet Set_Prm.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rg-gsd-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try """
            #Profibus_DP
            Ident_Number = 0x1234
            Modular_Station = 1
            Max_Module = 4
            Module = "Big" 0x10
            Ext_Module_Prm_Data_Len = 200
            EndModule
            """.write(to: directory.appendingPathComponent("BIG.gsd"), atomically: true, encoding: .utf8)
        let text = yaml().replacingOccurrences(of: "RG_IO.gsd", with: "BIG.gsd")
            .replacingOccurrences(of: "[\"8 DI\", \"2 AI word\", \"8 DO\"]", with: "[Big, Big]")
        let found: [String]
        do {
            _ = try Configuration.load(yaml: text, baseDirectory: directory.path)
            found = []
        } catch {
            found = error.issues.map(\.description)
        }
        #expect(found.contains { $0.contains("slaves[0].modules: slave io5: the GSD's and the modules' user parameters are 400 octets; Set_Prm carries at most 237") }, "\(found)")
    }

    @Test func eightBitTypesAreRefusedForModbus() {
        let text = """
        gateway: {id: gw, isa95: {enterprise: acme}}
        south:
          - {name: b, protocol: modbus-tcp, host: 127.0.0.1, devices: [{name: d, tags: [{name: t, ref: 400001, type: uint8}]}]}
        """
        #expect(issues(text).contains { $0.contains("uint8 addresses one octet of a PROFIBUS process image") })
    }
}
