/// JSON text building shared by everything Railgate writes as JSON
/// (MQTT payloads, the audit trail). Pure string work, no I/O.
public enum JSONText {
    /// Appends `string` as a JSON string literal (RFC 8259 §7 escapes).
    public static func appendQuoted(_ string: String, to json: inout String) {
        var bytes: [UInt8] = []
        appendQuoted(string, to: &bytes)
        json += String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `string` as a JSON string literal, UTF-8 (RFC 8259 §7 escapes; every byte of a
    /// multi-byte character is 0x80 or above and passes unchanged).
    public static func appendQuoted(_ string: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): escape(byte)
            case UInt8(ascii: "\n"): escape(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): escape(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): escape(UInt8(ascii: "t"))
            case 0..<0x20:
                escape(UInt8(ascii: "u"))
                json.append(UInt8(ascii: "0"))
                json.append(UInt8(ascii: "0"))
                json.append(hexDigit(byte >> 4))
                json.append(hexDigit(byte & 0xF))
            default: json.append(byte)
            }
        }
        json.append(UInt8(ascii: "\""))

        func escape(_ byte: UInt8) {
            json.append(UInt8(ascii: "\\"))
            json.append(byte)
        }
        func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10 }
    }

    public static func quoted(_ string: String) -> String {
        var json = ""
        appendQuoted(string, to: &json)
        return json
    }
}
