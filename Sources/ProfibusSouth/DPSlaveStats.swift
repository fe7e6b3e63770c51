import RailgateCore

/// Where a slave is in the DP start-up sequence.
public enum DPSlaveState: String, Sendable, Equatable {
    /// Waiting for a Slave_Diag answer (start-up, or after a fault).
    case offline = "offline"
    case parameterising = "Set_Prm"
    case configuring = "Chk_Cfg"
    case checkingDiagnosis = "Slave_Diag"
    case dataExchange = "Data_Exchange"
}

/// Counters of one DP slave, as shown in logs, OPC UA device health and the console.
public struct DPSlaveStats: Sendable, Equatable {
    public var device: String
    public var address: Int
    public var state: DPSlaveState = .offline
    public var quality = Quality(reason: .waitingForInitialData)
    /// Completed Data_Exchange cycles.
    public var cycles = 0
    /// Telegrams sent (repetitions included) and those without a valid answer.
    public var requests = 0
    public var errors = 0
    public var retries = 0
    /// Answers dropped for a frame check error, and octets skipped as garbage.
    public var fcsErrors = 0
    public var garbageOctets = 0
    /// Octets sent and received on the line for this slave.
    public var octetsSent = 0
    public var octetsReceived = 0
    /// Times the slave was taken back to parameterisation.
    public var restarts = 0
    public var lastCycleNs: Int64 = 0
    public var maxCycleNs: Int64 = 0
    /// Why the slave last left (or never reached) Data_Exchange, and when.
    public var lastFault: String?
    public var lastFaultAt: Int64 = 0
    /// The last Slave_Diag answer, decoded.
    public var lastDiagnosis: String?
    public var writes = 0
    public var writeErrors = 0

    public init(device: String, address: Int) {
        self.device = device
        self.address = address
    }
}

/// Counters of a whole PROFIBUS line.
public struct DPLineStats: Sendable, Equatable {
    /// Cycles run (every slave visited once).
    public var cycles = 0
    /// CPU time of the line thread inside cycles, and wall time of the cycles, ns.
    public var cpuNs: Int64 = 0
    public var wallNs: Int64 = 0
    public var lastCycleNs: Int64 = 0
    /// Octets sent and received on the line.
    public var octets = 0

    public init() {}
}
