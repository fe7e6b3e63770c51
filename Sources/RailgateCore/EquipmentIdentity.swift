/// Who a field device is in the plant's ISA-95 equipment model, as the MES knows it: its
/// equipment id, the work center it belongs to and its equipment level (OPC 10030). Set per
/// device in the configuration's `identity:` section; OPC UA serves it on the device's
/// Equipment object, Sparkplug in DBIRTH, JSON in every value message, and MQTT topics may use
/// it in place of the device name (`mqtt.device_topics: equipment`).
public struct EquipmentIdentity: Sendable, Equatable {
    /// The equipment id in the MES, e.g. `FIL-01`.
    public var equipmentId: String
    /// The id of the work center (a line, a cell) the equipment belongs to.
    public var workCenter: String?
    public var level: EquipmentLevel
    /// What the equipment is, in words.
    public var description: String?

    public init(equipmentId: String, workCenter: String? = nil, level: EquipmentLevel = .workUnit,
                description: String? = nil) {
        self.equipmentId = equipmentId
        self.workCenter = workCenter
        self.level = level
        self.description = description
    }
}
