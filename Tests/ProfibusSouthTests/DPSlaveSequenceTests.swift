@testable import ProfibusSouth
import RailgateCore
import Testing

/// The DP slave sequence, outcome by outcome: each row is what the slave answered to the request
/// the sequence asked for, the request that was, what follows and the state after it.
struct DPSlaveSequenceTests {
    typealias Outcome = DPSlaveSequence.Outcome
    typealias Next = DPSlaveSequence.Next
    typealias Request = DPSlaveSequence.Request

    static let expected = DPSlaveSequence.Expected(
        address: 5, identNumber: 0x5247, masterAddress: 2, gsdFile: "RG_IO.gsd", modules: ["8 DI", "2 AI word"],
        configBytes: [0x10, 0x51], setPrm: [0x88, 0x01, 0x0B, 0x52, 0x47, 0x00, 0x03])

    /// Station_Status_1/2 of a slave: not parameterised yet (Prm_Req, the fixed bit 2 of status 2).
    static func diagnosis(_ status1: UInt8 = 0x00, _ status2: UInt8 = 0x05, master: UInt8 = 255,
                          ident: UInt16 = 0x5247) -> Outcome {
        .diagnosis(DPDiagnosis(status1: status1, status2: status2, masterAddress: master, identNumber: ident))
    }
    static let ready = diagnosis(0x00, 0x04, master: 2)

    static let startUp: [(Request, Outcome, Next, DPSlaveState)] = [
        (.slaveDiagnosis, diagnosis(), .send(.setParameters), .parameterising),
        (.setParameters, .acknowledged, .send(.checkConfig), .configuring),
        (.checkConfig, .acknowledged, .send(.slaveDiagnosis), .checkingDiagnosis),
        (.slaveDiagnosis, ready, .exchanging, .dataExchange),
    ]

    static let cases: [(String, [(Request, Outcome, Next, DPSlaveState)])] = [
        ("start-up into data exchange", startUp),
        ("nobody at the address", [
            (.slaveDiagnosis, .noAnswer(Quality(reason: .timeout)),
             .fault("no answer at address 5 (timeout)", Quality(reason: .timeout)), .offline),
        ]),
        ("another device at the address", [
            (.slaveDiagnosis, diagnosis(ident: 0x1234),
             .fault("wrong ident number: the slave reports 0x1234, RG_IO.gsd says 0x5247; no data exchange",
                    Quality(reason: .config)), .offline),
        ]),
        ("parameterised by another master", [
            (.slaveDiagnosis, diagnosis(0x80, master: 3), .fault("locked by master 3", Quality(reason: .config)), .offline),
        ]),
        ("our own lock, or none, is no lock", [
            (.slaveDiagnosis, diagnosis(0x80, master: 2), .send(.setParameters), .parameterising),
        ]),
        ("Set_Prm refused", [
            (.slaveDiagnosis, diagnosis(), .send(.setParameters), .parameterising),
            (.setParameters, .refused("user error"), .fault("Set_Prm refused: user error", Quality(reason: .protocolError)),
             .offline),
        ]),
        ("Chk_Cfg unanswered", [
            (.slaveDiagnosis, diagnosis(), .send(.setParameters), .parameterising),
            (.setParameters, .acknowledged, .send(.checkConfig), .configuring),
            (.checkConfig, .noAnswer(Quality(reason: .crc)), .fault("no answer to Chk_Cfg (crc)", Quality(reason: .crc)),
             .offline),
        ]),
        ("other modules than configured: Get_Cfg names them", Array(startUp.prefix(3)) + [
            (.slaveDiagnosis, diagnosis(0x04, 0x04), .send(.getConfig), .checkingDiagnosis),
            (.getConfig, .configuration([0x10]),
             .fault("configuration fault (Cfg_Fault): expected 10 51 (8 DI, 2 AI word), the slave reports 10",
                    Quality(reason: .config)), .offline),
        ]),
        ("Get_Cfg failing too", Array(startUp.prefix(3)) + [
            (.slaveDiagnosis, diagnosis(0x04, 0x04), .send(.getConfig), .checkingDiagnosis),
            (.getConfig, .noAnswer(Quality(reason: .timeout)),
             .fault("configuration fault (Cfg_Fault): expected 10 51 (8 DI, 2 AI word), the slave reports nothing (Get_Cfg failed)",
                    Quality(reason: .config)), .offline),
        ]),
        ("parameters refused", Array(startUp.prefix(3)) + [
            (.slaveDiagnosis, diagnosis(0x40, 0x04),
             .fault("parameter fault (Prm_Fault): the slave rejects Set_Prm 88 01 0B 52 47 00 03", Quality(reason: .config)),
             .offline),
        ]),
        ("not ready yet: asked again next cycle", Array(startUp.prefix(3)) + [
            (.slaveDiagnosis, diagnosis(0x02, 0x04), .waitCycle, .checkingDiagnosis),
            (.slaveDiagnosis, ready, .exchanging, .dataExchange),
        ]),
        ("a Slave_Diag answered with a short acknowledgement", [
            (.slaveDiagnosis, .refused("a short acknowledgement"),
             .fault("Slave_Diag answered with a short acknowledgement", Quality(reason: .protocolError)), .offline),
        ]),
    ]

    @Test(arguments: cases.indices) func outcomesGiveTheirNextStep(_ index: Int) {
        let (name, rows) = Self.cases[index]
        var sequence = DPSlaveSequence(Self.expected)
        for (row, (request, outcome, next, state)) in rows.enumerated() {
            #expect(sequence.request == request, "\(name), row \(row + 1): request")
            #expect(sequence.handle(outcome) == next, "\(name), row \(row + 1): next")
            #expect(sequence.state == state, "\(name), row \(row + 1): state")
        }
    }

    @Test func aHighPriorityAnswerAsksForDiagnosisBeforeTheNextExchange() {
        var sequence = DPSlaveSequence(Self.expected)
        for (_, outcome, _, _) in Self.startUp { _ = sequence.handle(outcome) }
        #expect(sequence.request == .dataExchange)
        sequence.diagnosisRequested()
        #expect(sequence.request == .slaveDiagnosis)
        #expect(sequence.handle(Self.ready) == .send(.dataExchange) && sequence.request == .dataExchange)
        sequence.diagnosisRequested()
        #expect(sequence.handle(Self.diagnosis(0x00, 0x05, master: 2))
                == .fault("the slave left data exchange: parameterisation requested", Quality(reason: .protocolError)))
        #expect(sequence.state == .offline && sequence.request == .slaveDiagnosis)
    }

    @Test func aResetStartsOver() {
        var sequence = DPSlaveSequence(Self.expected)
        for (_, outcome, _, _) in Self.startUp { _ = sequence.handle(outcome) }
        sequence.diagnosisRequested()
        sequence.reset()
        #expect(sequence.state == .offline && sequence.request == .slaveDiagnosis && !sequence.diagnosisPending)
        // Outside data exchange a high-priority answer asks nothing.
        sequence.diagnosisRequested()
        #expect(!sequence.diagnosisPending)
    }
}
