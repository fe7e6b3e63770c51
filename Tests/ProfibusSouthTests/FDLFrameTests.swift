@testable import ProfibusSouth
import Foundation
import Testing

/// Telegram octets checked against pyprofibus 1.13's encoder (same requests).
@Suite struct FDLFrameTests {
    func encode(da: UInt8, sa: UInt8, fc: UInt8, dsap: Int = -1, ssap: Int = -1, data: [UInt8] = []) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: FDL.maxTelegram)
        let length = out.withUnsafeMutableBufferPointer { buffer in
            data.withUnsafeBufferPointer {
                FDL.encode(into: buffer.baseAddress!, da: da, sa: sa, fc: fc, dsap: dsap, ssap: ssap,
                           data: $0.baseAddress, dataCount: $0.count)
            }
        }
        return Array(out[..<length])
    }

    func decode(_ bytes: [UInt8]) -> FDLDecodeResult {
        bytes.withUnsafeBufferPointer { FDL.decode($0.baseAddress!, count: $0.count) }
    }

    static func hex(_ text: String) -> [UInt8] {
        stride(from: 0, to: text.count, by: 2).map {
            let start = text.index(text.startIndex, offsetBy: $0)
            return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    @Test func slaveDiagnosisRequestIsSD2WithSAPs() {
        let octets = encode(da: 5, sa: 2, fc: 0x6D, dsap: DP.SAP.slaveDiagnosis, ssap: DP.SAP.master)
        #expect(octets == Self.hex("6805056885826d3c3eee16"))
    }

    @Test func dataExchangeWithOutputsIsSD2WithoutSAPs() {
        #expect(encode(da: 7, sa: 2, fc: 0x7D, data: [0x04, 0x7F, 0xFB, 0x50]) == Self.hex("6807076807027d047ffb505416"))
    }

    @Test func eightDataOctetsUseSD3() {
        #expect(encode(da: 7, sa: 2, fc: 0x4D, data: Array(0..<8)) == Self.hex("a207024d00010203040506077216"))
    }

    @Test func noDataUsesSD1() {
        #expect(encode(da: 5, sa: 2, fc: 0x49) == Self.hex("100502495016"))
    }

    @Test func globalControlGoesToTheBroadcastAddress() {
        let octets = encode(da: FDL.broadcast, sa: 2, fc: 0x46, dsap: DP.SAP.globalControl, ssap: DP.SAP.master,
                            data: [DP.ControlCommand.clearData, 0])
        #expect(octets == Self.hex("68070768ff82463a3e02004116"))
    }

    @Test func decodesWhatItEncodes() throws {
        let octets = encode(da: 2, sa: 5, fc: 0x08, dsap: 62, ssap: 60, data: [0x02, 0x05, 0x00, 0xFF, 0x52, 0x47])
        guard case .frame(let frame) = decode(octets) else { Issue.record("not decoded"); return }
        #expect(frame.kind == .sd2 && frame.da == 2 && frame.sa == 5 && frame.fc == 0x08)
        #expect(frame.dsap == 62 && frame.ssap == 60 && frame.dataCount == 6 && frame.length == octets.count)
        #expect(Array(octets[frame.dataOffset..<frame.dataOffset + frame.dataCount]) == [0x02, 0x05, 0x00, 0xFF, 0x52, 0x47])
        #expect(!frame.isRequest)
    }

    @Test func shortAckTokenAndSD3Decode() {
        #expect(decode([0xE5]) == .frame(FDLFrame(kind: .shortAck, length: 1)))
        #expect(decode([0xDC, 0x05, 0x02]) == .frame(FDLFrame(kind: .token, da: 5, sa: 2, length: 3)))
        guard case .frame(let sd3) = decode(Self.hex("a207024d00010203040506077216")) else { Issue.record("SD3"); return }
        #expect(sd3.kind == .sd3 && sd3.dataCount == 8 && sd3.isRequest && sd3.function == FDL.FC.srdHigh)
    }

    @Test func partialTelegramsAskForMore() {
        let octets = Self.hex("6807076807027d047ffb505416")
        for cut in 1..<octets.count {
            #expect(decode(Array(octets[..<cut])) == .incomplete, "cut at \(cut)")
        }
    }

    @Test func damagedTelegramsAreNamedAndSkipped() {
        var octets = Self.hex("6807076807027d047ffb505416")
        octets[octets.count - 2] &+= 1
        #expect(decode(octets) == .invalid(.badChecksum, skip: 1))
        octets = Self.hex("6807076807027d047ffb505416")
        octets[octets.count - 1] = 0x00
        #expect(decode(octets) == .invalid(.badEndDelimiter, skip: 1))
        #expect(decode(Self.hex("68070668")) == .invalid(.badLength, skip: 1))
        #expect(decode(Self.hex("68020268")) == .invalid(.badLength, skip: 1))
        #expect(decode([0x00, 0x10]) == .invalid(.garbage, skip: 1))
        // A SAP flag in an SD1 telegram, which has no room for the extension octet.
        #expect(decode(Self.hex("1085024995 16".replacingOccurrences(of: " ", with: ""))) == .invalid(.badChecksum, skip: 1))
        #expect(decode([0x10, 0x85, 0x02, 0x49, 0xD0, 0x16]) == .invalid(.badAddressExtension, skip: 1))
    }

    @Test func watchdogFactorsCoverTheRequestedTime() {
        #expect(DP.watchdogFactors(ms: 500) == (50, 1))
        #expect(DP.watchdogFactors(ms: 10) == (1, 1))
        let (f1, f2) = DP.watchdogFactors(ms: 10_000)
        #expect(Int(f1) * Int(f2) * 10 >= 10_000 && f1 <= 255)
        #expect(DP.watchdogFactors(ms: 700_000) == (255, 255))
    }

    @Test func setParametersCarriesLockIdentAndUserData() {
        let prm = DP.setParameters(identNumber: 0x5247, watchdogMs: 400, minTsdrBits: 11, group: 1, userParameters: [3])
        #expect(prm == [0x88, 40, 1, 11, 0x52, 0x47, 1, 3])
        #expect(DP.setParameters(identNumber: 0x5248, watchdogMs: nil, minTsdrBits: 11, group: 0, userParameters: [])[0] == 0x80)
    }

    @Test func diagnosisFlagsAreDecoded() {
        let bytes: [UInt8] = [0x06, 0x05, 0x00, 0xFF, 0x52, 0x47, 0x03, 0x81, 0x02]
        let diagnosis = bytes.withUnsafeBufferPointer { DPDiagnosis($0) }!
        #expect(diagnosis.stationNotReady && diagnosis.configurationFault && diagnosis.parameterRequest)
        #expect(!diagnosis.readyForDataExchange && diagnosis.identNumber == 0x5247 && diagnosis.masterAddress == 255)
        #expect(diagnosis.extended == [0x03, 0x81, 0x02])
        #expect(diagnosis.description.contains("configuration fault"))
        let ready = [UInt8]([0x00, 0x0C, 0x00, 0x02, 0x52, 0x47]).withUnsafeBufferPointer { DPDiagnosis($0) }!
        #expect(ready.readyForDataExchange && ready.watchdogOn)
        #expect([UInt8]([0, 4]).withUnsafeBufferPointer { DPDiagnosis($0) } == nil)
    }
}
