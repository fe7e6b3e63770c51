import RailgateCore

/// One DP slave's way into data exchange — Slave_Diag → Set_Prm → Chk_Cfg → Slave_Diag →
/// Data_Exchange (IEC 61158-6-3) — as a state machine without I/O. The line's driver (`DPMaster`)
/// asks `request` what to send, sends it, and hands what came back to `handle`, which says what
/// follows: another request in the same cycle, a wait for the next cycle, data exchange reached,
/// or a fault with the reason a technician reads and the quality the slave's tags take. A fault
/// takes the slave back to `.offline`; the driver owns the retry backoff, the FCB and the tags.
///
/// Data_Exchange itself (the hot path) is the driver's: the sequence only says when to send it and
/// when a high-priority answer asks for a Slave_Diag first (`diagnosisRequested`).
struct DPSlaveSequence: Equatable {
    /// What the master sends the slave next.
    enum Request: Equatable {
        case slaveDiagnosis
        case setParameters
        case checkConfig
        /// Get_Cfg, to name the modules the slave has after a configuration fault.
        case getConfig
        case dataExchange
    }

    /// What came back for a request other than Data_Exchange, as the driver read it.
    enum Outcome: Equatable {
        /// A valid Slave_Diag answer.
        case diagnosis(DPDiagnosis)
        /// Set_Prm or Chk_Cfg accepted (a short acknowledgement or an SD1 "OK").
        case acknowledged
        /// The slave answered, but not with what was asked: the reason in words.
        case refused(String)
        /// The Get_Cfg answer: the slave's identifier octets (nil: Get_Cfg failed too).
        case configuration([UInt8]?)
        /// No valid answer after the retries; why.
        case noAnswer(Quality)
    }

    enum Next: Equatable {
        /// Send this at once, in the same cycle.
        case send(Request)
        /// Ask again in the next cycle (the station is not ready yet).
        case waitCycle
        /// Data exchange begins with the next request.
        case exchanging
        /// The slave goes back to `.offline`: why, and the quality of its tags.
        case fault(String, Quality)
    }

    /// What the configuration expects of the slave.
    struct Expected: Equatable {
        var address: Int
        var identNumber: UInt16
        var masterAddress: Int
        var gsdFile: String
        var modules: [String]
        var configBytes: [UInt8]
        var setPrm: [UInt8]
    }

    let expected: Expected
    private(set) var state: DPSlaveState = .offline
    /// A Get_Cfg after a configuration fault is under way.
    private(set) var readingConfiguration = false
    /// A high-priority Data_Exchange answer asked for a Slave_Diag before the next exchange.
    private(set) var diagnosisPending = false

    init(_ expected: Expected) {
        self.expected = expected
    }

    var request: Request {
        switch state {
        case .offline: .slaveDiagnosis
        case .parameterising: .setParameters
        case .configuring: .checkConfig
        case .checkingDiagnosis: readingConfiguration ? .getConfig : .slaveDiagnosis
        case .dataExchange: diagnosisPending ? .slaveDiagnosis : .dataExchange
        }
    }

    /// A Data_Exchange answer of high priority: the slave has new diagnosis.
    mutating func diagnosisRequested() {
        if state == .dataExchange { diagnosisPending = true }
    }

    /// The driver took the slave back to the start (a Data_Exchange fault, the line down).
    mutating func reset() {
        state = .offline
        readingConfiguration = false
        diagnosisPending = false
    }

    mutating func handle(_ outcome: Outcome) -> Next {
        let request = self.request
        let next = decide(request, outcome)
        if case .fault = next { reset() }
        return next
    }

    private mutating func decide(_ request: Request, _ outcome: Outcome) -> Next {
        switch (request, outcome) {
        case (.getConfig, .configuration(let reported)):
            return .fault("configuration fault (Cfg_Fault): expected \(Hex.string(expected.configBytes)) (\(expected.modules.joined(separator: ", "))), the slave reports \(reported.map(Hex.string) ?? "nothing (Get_Cfg failed)")",
                          Quality(reason: .config))
        case (.getConfig, _):
            return decide(.getConfig, .configuration(nil))
        case (.slaveDiagnosis, .diagnosis(let diagnosis)):
            return diagnosed(diagnosis)
        case (.slaveDiagnosis, .noAnswer(let quality)):
            let reason = state == .offline ? "no answer at address \(expected.address)" : "no answer to Slave_Diag"
            return .fault("\(reason) (\(quality.reasonText ?? "bad"))", quality)
        case (.slaveDiagnosis, .refused(let why)):
            return .fault("Slave_Diag answered with \(why)", Quality(reason: .protocolError))
        case (.setParameters, .acknowledged):
            state = .configuring
            return .send(.checkConfig)
        case (.checkConfig, .acknowledged):
            state = .checkingDiagnosis
            return .send(.slaveDiagnosis)
        case (.setParameters, .refused(let why)), (.checkConfig, .refused(let why)):
            return .fault("\(Self.service(request)) refused: \(why)", Quality(reason: .protocolError))
        case (.setParameters, .noAnswer(let quality)), (.checkConfig, .noAnswer(let quality)):
            return .fault("no answer to \(Self.service(request)) (\(quality.reasonText ?? "bad"))", quality)
        default:
            return .fault("\(Self.service(request)): unexpected answer", Quality(reason: .protocolError))
        }
    }

    private mutating func diagnosed(_ diagnosis: DPDiagnosis) -> Next {
        switch state {
        case .offline:
            if diagnosis.identNumber != expected.identNumber {
                return .fault("wrong ident number: the slave reports \(Hex.word(diagnosis.identNumber)), \(expected.gsdFile) says \(Hex.word(expected.identNumber)); no data exchange",
                              Quality(reason: .config))
            }
            if diagnosis.masterLock && Int(diagnosis.masterAddress) != expected.masterAddress && diagnosis.masterAddress != 255 {
                return .fault("locked by master \(diagnosis.masterAddress)", Quality(reason: .config))
            }
            state = .parameterising
            return .send(.setParameters)
        case .checkingDiagnosis:
            if diagnosis.configurationFault {
                readingConfiguration = true
                return .send(.getConfig)
            }
            if diagnosis.parameterFault {
                return .fault("parameter fault (Prm_Fault): the slave rejects Set_Prm \(Hex.string(expected.setPrm))",
                              Quality(reason: .config))
            }
            if diagnosis.notSupported {
                return .fault("the slave does not support a requested function (Not_Supported)", Quality(reason: .config))
            }
            if diagnosis.parameterRequest {
                return .fault("the slave asks for parameters again (Prm_Req)", Quality(reason: .protocolError))
            }
            if diagnosis.stationNotReady || diagnosis.staticDiagnosis { return .waitCycle }
            state = .dataExchange
            return .exchanging
        case .dataExchange:
            diagnosisPending = false
            if !diagnosis.readyForDataExchange {
                return .fault("the slave left data exchange: \(diagnosis.flags.joined(separator: ", "))",
                              Quality(reason: .protocolError))
            }
            return .send(.dataExchange)
        case .parameterising, .configuring:
            return .fault("Slave_Diag answered out of turn", Quality(reason: .protocolError))
        }
    }

    private static func service(_ request: Request) -> String {
        switch request {
        case .slaveDiagnosis: "Slave_Diag"
        case .setParameters: "Set_Prm"
        case .checkConfig: "Chk_Cfg"
        case .getConfig: "Get_Cfg"
        case .dataExchange: "Data_Exchange"
        }
    }
}
