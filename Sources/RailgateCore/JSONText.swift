/// JSON text building shared by everything Railgate writes as JSON
/// (MQTT payloads, the audit trail). Pure string work, no I/O.
public enum JSONText {
    /// Appends `string` as a JSON string literal (RFC 8259 §7 escapes).
    public static func appendQuoted(_ string: String, to json: inout String) {
        json += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case "\n": json += "\\n"
            case "\r": json += "\\r"
            case "\t": json += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: json.unicodeScalars.append(scalar)
            }
        }
        json += "\""
    }

    public static func quoted(_ string: String) -> String {
        var json = ""
        appendQuoted(string, to: &json)
        return json
    }
}
