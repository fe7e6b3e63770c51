/// The gateway's field devices, in the order their tags come: each device's name, its tags and
/// where its health comes from. The runtime builds one per configuration from the south buses;
/// north reads devices here and nowhere else — Sparkplug (a Sparkplug device per field device,
/// DBIRTH / DDEATH), OPC UA (a device object per device, its health variables) — so every
/// protocol's devices reach every north side alike.
///
/// Health is not copied into the table: it is read, when asked for, from the bus that owns the
/// device (under that bus's own lock), so the sampling loop writes nothing more for it.
public final class DeviceTable: Sendable {
    /// Device names, in order of their first tag.
    public let names: [String]
    /// Gateway indices of each device's tags, in tag order.
    public let tags: [[Int]]
    /// The device of each gateway tag.
    public let deviceOfTag: [Int]
    /// Each device's ISA-95 identity, when the configuration gives one.
    public let identities: [EquipmentIdentity?]
    private let byName: [String: Int]
    private let source: @Sendable (String) -> DeviceHealth?

    /// - Parameters:
    ///   - tags: the gateway's tags; each names its device (`Tag.device`).
    ///   - identities: ISA-95 identities by device name.
    ///   - health: a device's health by name (its bus's), nil where unknown.
    public init(tags: [Tag], identities: [String: EquipmentIdentity] = [:],
                health: @escaping @Sendable (String) -> DeviceHealth? = { _ in nil }) {
        var names: [String] = []
        var members: [[Int]] = []
        var byName: [String: Int] = [:]
        var deviceOfTag: [Int] = []
        deviceOfTag.reserveCapacity(tags.count)
        for (index, tag) in tags.enumerated() {
            let device: Int
            if let known = byName[tag.device] {
                device = known
            } else {
                device = names.count
                byName[tag.device] = device
                names.append(tag.device)
                members.append([])
            }
            members[device].append(index)
            deviceOfTag.append(device)
        }
        self.names = names
        self.tags = members
        self.deviceOfTag = deviceOfTag
        self.identities = names.map { identities[$0] }
        self.byName = byName
        source = health
    }

    public var count: Int { names.count }
    public var indices: Range<Int> { names.indices }

    public func index(of name: String) -> Int? { byName[name] }

    /// The name a device goes by in MQTT topics: its equipment id when `byEquipment` and it has
    /// an identity, else its name.
    public func topicName(_ device: Int, byEquipment: Bool) -> String {
        byEquipment ? identities[device]?.equipmentId ?? names[device] : names[device]
    }

    /// The device's current communication health, when its bus reports one.
    public func health(_ device: Int) -> DeviceHealth? {
        names.indices.contains(device) ? source(names[device]) : nil
    }

    public func health(named name: String) -> DeviceHealth? {
        byName[name] == nil ? nil : source(name)
    }
}
