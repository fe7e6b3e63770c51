import RailgateCore

/// The JSON document published for one tag change:
///
///     {"ts":1732540000123,"value":230.5,"quality":"good","unit":"V"}
///     {"ts":1732540001123,"value":null,"quality":"bad","reason":"timeout","unit":"V"}
///
/// `ts` is the source timestamp in ms since the Unix epoch. Non-finite
/// numbers and bad values are `null`.
public enum JSONPayload {
    public static func encode(tag: Tag, sample: Sample, text: String?) -> String {
        var json = "{\"ts\":\(sample.timestamp / 1_000_000),\"value\":"
        if !sample.quality.isGood {
            json += "null,\"quality\":\"bad\",\"reason\":"
            appendString(sample.quality.reasonText ?? "", to: &json)
        } else {
            appendValue(sample.value, kind: tag.kind, text: text, to: &json)
            json += ",\"quality\":\"good\""
        }
        if let unit = tag.unit {
            json += ",\"unit\":"
            appendString(unit, to: &json)
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
