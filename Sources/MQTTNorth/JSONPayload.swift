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
        var json: [UInt8] = []
        encode(tag: tag, sample: sample, text: text, identity: identity, into: &json)
        return String(decoding: json, as: UTF8.self)
    }

    /// Appends the document to `json`: the publishing thread encodes every change into one
    /// buffer it keeps, so a message costs no allocation once the buffer has grown.
    public static func encode(tag: Tag, sample: Sample, text: String?, identity: EquipmentIdentity? = nil,
                              into json: inout [UInt8]) {
        json.append(contentsOf: #"{"ts":"#.utf8)
        appendInteger(sample.timestamp / 1_000_000, to: &json)
        json.append(contentsOf: #","value":"#.utf8)
        if sample.quality.hasValue {
            appendValue(sample.value, kind: tag.kind, text: text, to: &json)
            if let code = tag.codes?.code(of: sample.value, kind: tag.kind) {
                json.append(contentsOf: #","code":"#.utf8)
                JSONText.appendQuoted(code, to: &json)
            }
        } else {
            json.append(contentsOf: "null".utf8)
        }
        json.append(contentsOf: #","quality":""#.utf8)
        json.append(contentsOf: sample.quality.level.utf8)
        json.append(UInt8(ascii: "\""))
        if let reason = sample.quality.reasonText {
            json.append(contentsOf: #","reason":"#.utf8)
            JSONText.appendQuoted(reason, to: &json)
        }
        if let unit = tag.unit {
            json.append(contentsOf: #","unit":"#.utf8)
            JSONText.appendQuoted(unit, to: &json)
        }
        if let identity {
            json.append(contentsOf: #","equipment":"#.utf8)
            JSONText.appendQuoted(identity.equipmentId, to: &json)
            if let workCenter = identity.workCenter {
                json.append(contentsOf: #","work_center":"#.utf8)
                JSONText.appendQuoted(workCenter, to: &json)
            }
        }
        json.append(UInt8(ascii: "}"))
    }

    static func appendValue(_ value: SampleValue, kind: ValueKind, text: String?, to json: inout [UInt8]) {
        switch kind {
        case .bool: json.append(contentsOf: (value.bool ? "true" : "false").utf8)
        case .int: appendInteger(value.int, to: &json)
        case .uint: appendInteger(value.uint, to: &json)
        case .double:
            let number = value.double
            if !number.isFinite {
                json.append(contentsOf: "null".utf8)
            } else if number == number.rounded(), abs(number) < 1e15 {
                // Integral values without a fraction (`230`, not `230.0`).
                appendInteger(Int64(number), to: &json)
            } else {
                // The shortest text that reads back as the same Double (at most 24 characters:
                // a small string, no allocation).
                json.append(contentsOf: number.description.utf8)
            }
        case .string: JSONText.appendQuoted(text ?? "", to: &json)
        }
    }

    /// Decimal digits without making a String.
    static func appendInteger<T: BinaryInteger>(_ value: T, to json: inout [UInt8]) {
        if value < 0 { json.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 24 digits, one byte each
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0 && count < buffer.count
            for index in stride(from: count - 1, through: 0, by: -1) { json.append(buffer[index]) }
        }
    }
}
