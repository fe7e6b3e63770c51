/// PROFIBUS-DP (DPV0) services on top of FDL, IEC 61158-6-3 / EN 50170 vol. 2.
public enum DP {
    /// Service access points. The master sends every DP request from SSAP 62.
    public enum SAP {
        public static let setSlaveAddress = 55
        public static let readInputs = 56
        public static let readOutputs = 57
        public static let globalControl = 58
        public static let getConfig = 59
        public static let slaveDiagnosis = 60
        public static let setParameters = 61
        public static let checkConfig = 62
        public static let master = 62
    }

    /// Set_Prm octet 1 (Station_Status).
    public enum PrmStatus {
        public static let watchdogOn: UInt8 = 0x08
        public static let freezeRequest: UInt8 = 0x10
        public static let syncRequest: UInt8 = 0x20
        public static let unlockRequest: UInt8 = 0x40
        public static let lockRequest: UInt8 = 0x80
    }

    /// Global_Control octet 1 (Control_Command).
    public enum ControlCommand {
        public static let clearData: UInt8 = 0x02
        public static let unfreeze: UInt8 = 0x04
        public static let freeze: UInt8 = 0x08
        public static let unsync: UInt8 = 0x10
        public static let sync: UInt8 = 0x20
    }

    /// Watchdog factors for Set_Prm: timeout = 10 ms × factor 1 × factor 2,
    /// each 1…255. Returns the smallest pair that is at least `ms`.
    public static func watchdogFactors(ms: Int) -> (UInt8, UInt8) {
        let units = max(1, (ms + 9) / 10)
        var factor2 = 1
        while (units + factor2 - 1) / factor2 > 255 && factor2 < 255 { factor2 += 1 }
        let factor1 = min(255, (units + factor2 - 1) / factor2)
        return (UInt8(factor1), UInt8(factor2))
    }

    /// The Set_Prm data field: 7 standard octets, then the user parameters.
    public static func setParameters(identNumber: UInt16, watchdogMs: Int?, minTsdrBits: Int, group: UInt8,
                                     freeze: Bool = false, sync: Bool = false,
                                     userParameters: [UInt8]) -> [UInt8] {
        var status = PrmStatus.lockRequest
        if freeze { status |= PrmStatus.freezeRequest }
        if sync { status |= PrmStatus.syncRequest }
        var factors: (UInt8, UInt8) = (1, 1)
        if let watchdogMs {
            status |= PrmStatus.watchdogOn
            factors = watchdogFactors(ms: watchdogMs)
        }
        return [status, factors.0, factors.1, UInt8(clamping: minTsdrBits), UInt8(identNumber >> 8),
                UInt8(identNumber & 0xFF), group] + userParameters
    }
}

/// Decoded Slave_Diag response (six standard octets, then extended diagnosis).
public struct DPDiagnosis: Equatable, Sendable, CustomStringConvertible {
    public var status1: UInt8
    public var status2: UInt8
    public var status3: UInt8
    /// Address of the master that parameterised the slave; 255 for none.
    public var masterAddress: UInt8
    public var identNumber: UInt16
    /// Device, identifier and channel related blocks, as sent.
    public var extended: [UInt8]

    public init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count >= 6 else { return nil }
        status1 = bytes[0]
        status2 = bytes[1]
        status3 = bytes[2]
        masterAddress = bytes[3]
        identNumber = UInt16(bytes[4]) << 8 | UInt16(bytes[5])
        extended = Array(bytes[6...])
    }

    public init(status1: UInt8, status2: UInt8, status3: UInt8 = 0, masterAddress: UInt8, identNumber: UInt16,
                extended: [UInt8] = []) {
        self.status1 = status1
        self.status2 = status2
        self.status3 = status3
        self.masterAddress = masterAddress
        self.identNumber = identNumber
        self.extended = extended
    }

    // Station_Status_1.
    public var stationNotReady: Bool { status1 & 0x02 != 0 }
    public var configurationFault: Bool { status1 & 0x04 != 0 }
    public var extendedDiagnosis: Bool { status1 & 0x08 != 0 }
    public var notSupported: Bool { status1 & 0x10 != 0 }
    public var parameterFault: Bool { status1 & 0x40 != 0 }
    /// Parameterised by another master.
    public var masterLock: Bool { status1 & 0x80 != 0 }
    // Station_Status_2.
    public var parameterRequest: Bool { status2 & 0x01 != 0 }
    public var staticDiagnosis: Bool { status2 & 0x02 != 0 }
    /// Always set by a DP slave; a clear bit means the answer is not DP.
    public var alwaysOne: Bool { status2 & 0x04 != 0 }
    public var watchdogOn: Bool { status2 & 0x08 != 0 }
    public var freezeMode: Bool { status2 & 0x10 != 0 }
    public var syncMode: Bool { status2 & 0x20 != 0 }
    // Station_Status_3.
    public var extendedOverflow: Bool { status3 & 0x80 != 0 }

    /// Ready for Data_Exchange: parameterised, configured, nothing pending.
    public var readyForDataExchange: Bool {
        !stationNotReady && !configurationFault && !parameterFault && !parameterRequest && !notSupported
            && !staticDiagnosis && alwaysOne
    }

    /// The flags that are set, in plain words.
    public var flags: [String] {
        var names: [String] = []
        if stationNotReady { names.append("station not ready") }
        if configurationFault { names.append("configuration fault") }
        if extendedDiagnosis { names.append("extended diagnosis") }
        if notSupported { names.append("function not supported") }
        if parameterFault { names.append("parameter fault") }
        if masterLock { names.append("locked by master \(masterAddress)") }
        if parameterRequest { names.append("parameterisation requested") }
        if staticDiagnosis { names.append("static diagnosis") }
        if watchdogOn { names.append("watchdog on") }
        if freezeMode { names.append("freeze") }
        if syncMode { names.append("sync") }
        if extendedOverflow { names.append("extended diagnosis overflow") }
        return names
    }

    public var description: String {
        var text = "ident \(Hex.word(identNumber)), master \(masterAddress)"
        let names = flags
        if !names.isEmpty { text += ", " + names.joined(separator: ", ") }
        if !extended.isEmpty { text += ", extended " + Hex.string(extended) }
        return text
    }
}

/// Hexadecimal for messages and reports, the way PROFIBUS tools print it.
public enum Hex {
    /// `10 51 20 61`
    public static func string(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            let text = String(byte, radix: 16, uppercase: true)
            return byte < 16 ? "0" + text : text
        }.joined(separator: " ")
    }

    /// `0x08`
    public static func byte(_ value: UInt8) -> String { "0x" + string([value]) }

    /// `0x5247`
    public static func word(_ value: UInt16) -> String {
        "0x" + [UInt8(value >> 8), UInt8(value & 0xFF)].map { string([$0]) }.joined()
    }
}
