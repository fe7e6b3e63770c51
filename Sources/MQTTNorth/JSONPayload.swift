import RailgateCore

/// The JSON document published for one tag change:
///
///     {"ts":1732540000123,"value":230.5,"quality":"good","unit":"V"}
///     {"ts":1732540001123,"value":null,"quality":"bad","reason":"timeout","unit":"V"}
///
/// A tag with a code map carries the code of its raw value beside it, or, for a value the
/// map does not list, quality uncertain:
///
///     {"ts":1732540000123,"value":1001,"code":"MAT-4711-A","quality":"good"}
///     {"ts":1732540002123,"value":1099,"quality":"uncertain","reason":"unmapped code"}
///
/// A tag of a device with an ISA-95 identity (`identity:`) names its equipment and work center:
///
///     {"ts":1732540000123,"value":1450,"quality":"good","unit":"r/min","equipment":"FIL-01","work_center":"PACK-L3"}
///
/// `ts` is the source timestamp in ms since the Unix epoch. Non-finite
/// numbers and bad values are `null`.
public enum JSONPayload {
    public static func encode(tag: Tag, sample: Sample, text: String?, identity: EquipmentIdentity? = nil) -> String {
        var json = "{\"ts\":\(sample.timestamp / 1_000_000),\"value\":"
        if sample.quality.hasValue {
            appendValue(sample.value, kind: tag.kind, text: text, to: &json)
            if let code = tag.codes?.code(of: sample.value, kind: tag.kind) {
                json += ",\"code\":"
                appendString(code, to: &json)
            }
        } else {
            json += "null"
        }
        json += ",\"quality\":\"\(sample.quality.level)\""
        if let reason = sample.quality.reasonText {
            json += ",\"reason\":"
            appendString(reason, to: &json)
        }
        if let unit = tag.unit {
            json += ",\"unit\":"
            appendString(unit, to: &json)
        }
        if let identity {
            json += ",\"equipment\":"
            appendString(identity.equipmentId, to: &json)
            if let workCenter = identity.workCenter {
                json += ",\"work_center\":"
                appendString(workCenter, to: &json)
            }
        }
        json += "}"
        return json
    }

    static func appendValue(_ value: SampleValue, kind: ValueKind, text: String?, to json: inout String) {
        switch kind {
        case .bool: json += value.bool ? "true" : "false"
        case .int: json += String(value.int)
        case .uint: json += String(value.uint)
        case .double:
            let number = value.double
            json += number.isFinite ? formatDouble(number) : "null"
        case .string: appendString(text ?? "", to: &json)
        }
    }

    /// Shortest text that reads back as the same Double; integral values
    /// without a fraction (`230`, not `230.0`).
    static func formatDouble(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 {
            return String(Int64(number))
        }
        return "\(number)"
    }

    static func appendString(_ string: String, to json: inout String) {
        JSONText.appendQuoted(string, to: &json)
    }
}
