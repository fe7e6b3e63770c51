/// Finds the OPC UA unitId of an engineering unit written in a tag's
/// configuration, by UNECE code (`CEL`, `VLT`) or by symbol (`°C`, `V`).
enum UNECEUnits {
    private static let byKey: [String: Int32] = {
        var map: [String: Int32] = [:]
        for line in UNECETable.rows.split(separator: "\n") {
            let parts = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let id = Int32(parts[1]) else { continue }
            map[String(parts[0])] = map[String(parts[0])] ?? id
            map[String(parts[2])] = map[String(parts[2])] ?? id
        }
        return map
    }()

    static func unitId(for unit: String) -> Int32? {
        byKey[unit] ?? byKey[unit.uppercased()]
    }
}
