import RailgateCore

extension Configuration {
    /// The `identity:` section: each field device's place in the ISA-95 equipment model, by
    /// device name,
    ///
    ///     identity:
    ///       filler: {equipment_id: FIL-01, work_center: PACK-L3, level: work_unit, description: Rotary filler}
    ///
    /// `equipment_id` is required; `level` defaults to `work_unit`. Ids become MQTT topic levels
    /// and Sparkplug device ids, so they take the characters device names take. Two devices may
    /// not share an equipment id, an equipment id may not be another device's name, and a work
    /// center's id may not be an equipment id.
    static func readIdentities(_ root: NodeReader, devices: [String]) -> [String: EquipmentIdentity] {
        guard let section = root.mapping("identity") else { return [:] }
        let known = Set(devices)
        var identities: [String: EquipmentIdentity] = [:]
        var owners: [String: String] = [:]
        for (key, _) in section.node.mapping ?? [:] {
            guard let device = key.string else { continue }
            guard known.contains(device) else {
                let hint = EditDistance.closest(device, among: devices).map { "; did you mean \"\($0)\"?" } ?? ""
                section.issue(device, "no device \"\(device)\" in south\(hint)")
                continue
            }
            guard let reader = section.mapping(device) else { continue }
            reader.rejectUnknownKeys(["equipment_id", "work_center", "level", "description"])
            let equipment = checkName(reader, "equipment_id")
            let workCenter = checkName(reader, "work_center", required: false)
            var level = EquipmentLevel.workUnit
            if let text = reader.string("level") {
                if let found = EquipmentLevel.allCases.first(where: { $0.configName == text }) {
                    level = found
                } else {
                    let names = EquipmentLevel.allCases.map(\.configName)
                    let hint = EditDistance.closest(text, among: names).map { "did you mean \"\($0)\"? " } ?? ""
                    reader.issue("level", "unknown equipment level \"\(text)\" (\(hint)expected one of: \(names.joined(separator: ", ")))")
                }
            }
            guard let equipment else { continue }
            if let other = owners[equipment] {
                reader.issue("equipment_id", "equipment id \"\(equipment)\" is also device \(other)'s")
                continue
            }
            if equipment != device && known.contains(equipment) {
                // Topics and Sparkplug device ids by equipment would meet the other device's name.
                reader.issue("equipment_id", "equipment id \"\(equipment)\" is the name of another device")
                continue
            }
            owners[equipment] = device
            identities[device] = EquipmentIdentity(equipmentId: equipment, workCenter: workCenter, level: level,
                                                   description: reader.string("description"))
        }
        for (device, identity) in identities {
            if let workCenter = identity.workCenter, let other = owners[workCenter] {
                section.mapping(device)?.issue("work_center", "work center \"\(workCenter)\" is device \(other)'s equipment id; give the work center an id of its own")
            }
        }
        return identities
    }
}
