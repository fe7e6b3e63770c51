/// An edge node's Sparkplug B session (Sparkplug B 3.0 §5.2, §6.4): the `bdSeq` of each MQTT
/// session, the `seq` of every message and which devices are born — as a state machine without
/// I/O. `SparkplugEdgeNode` drives it and sends what it says.
struct SparkplugSession: Equatable {
    /// The number of the MQTT session, carried by NBIRTH and the NDEATH will; 0…255.
    private(set) var bdSeq: UInt64 = 0
    /// The seq of the last message sent in this session; NBIRTH has 0, then 1…255, 0, 1…
    private(set) var seq: UInt64 = 0
    /// Devices with a DBIRTH in this session and no DDEATH since.
    private(set) var born: [Bool]

    /// What a device's changes become.
    enum DeviceMessage: Equatable {
        /// DBIRTH: it communicates again, or for the first time in this session.
        case birth(seq: UInt64)
        /// DDATA of the changes.
        case data(seq: UInt64)
        /// DDEATH: it stopped communicating.
        case death(seq: UInt64)
        /// Nothing: it is not born and does not communicate.
        case none
    }

    init(devices: Int) {
        born = Array(repeating: false, count: devices)
    }

    /// The MQTT connection ended: the next session's bdSeq, for the will set before reconnecting.
    mutating func connectionLost() -> UInt64 {
        bdSeq = (bdSeq + 1) % 256
        return bdSeq
    }

    /// NBIRTH (seq 0, this session's bdSeq): no device is born until its own DBIRTH follows.
    mutating func nodeBirth() -> (seq: UInt64, bdSeq: UInt64) {
        seq = 0
        born = Array(repeating: false, count: born.count)
        return (0, bdSeq)
    }

    /// The seq of the next message (DBIRTH, DDATA, DDEATH, historical DDATA).
    mutating func nextSeq() -> UInt64 {
        seq = (seq + 1) % 256
        return seq
    }

    /// A DBIRTH sent with the NBIRTH, for a device that has data.
    mutating func deviceBirth(_ device: Int) -> UInt64 {
        born[device] = true
        return nextSeq()
    }

    /// What changes of `device` become, by whether it communicates now (a good or uncertain
    /// value, not timeout, disconnected or still waiting for its first data).
    mutating func deviceChanged(_ device: Int, communicating: Bool) -> DeviceMessage {
        switch (born[device], communicating) {
        case (false, true):
            return .birth(seq: deviceBirth(device))
        case (false, false):
            return .none
        case (true, false):
            born[device] = false
            return .death(seq: nextSeq())
        case (true, true):
            return .data(seq: nextSeq())
        }
    }
}
