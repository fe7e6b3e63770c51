import Testing
@testable import MQTTNorth
import RailgateCore

typealias Tag = RailgateCore.Tag

/// Golden payloads: exactly the bytes a subscriber receives.
struct JSONPayloadTests {
    func tag(_ type: DataType, unit: String? = nil, scaling: Scaling = .identity) -> Tag {
        Tag(name: "t", device: "d", path: "e/d/t", dataType: type, scaling: scaling, unit: unit)
    }

    func sample(_ value: SampleValue, _ quality: Quality = .good) -> Sample {
        Sample(tag: 0, quality: quality, timestamp: 1_732_540_000_123_456_789, value: value)
    }

    @Test func goodValuesOfEveryKind() {
        #expect(JSONPayload.encode(tag: tag(.float32, unit: "V"), sample: sample(SampleValue(double: 230.5)), text: nil)
                == #"{"ts":1732540000123,"value":230.5,"quality":"good","unit":"V"}"#)
        #expect(JSONPayload.encode(tag: tag(.uint16, unit: "rpm"), sample: sample(SampleValue(uint: 1450)), text: nil)
                == #"{"ts":1732540000123,"value":1450,"quality":"good","unit":"rpm"}"#)
        #expect(JSONPayload.encode(tag: tag(.int64), sample: sample(SampleValue(int: -9_876_543_210)), text: nil)
                == #"{"ts":1732540000123,"value":-9876543210,"quality":"good"}"#)
        #expect(JSONPayload.encode(tag: tag(.bool), sample: sample(SampleValue(bool: true)), text: nil)
                == #"{"ts":1732540000123,"value":true,"quality":"good"}"#)
        #expect(JSONPayload.encode(tag: tag(.float64), sample: sample(SampleValue(double: 20)), text: nil)
                == #"{"ts":1732540000123,"value":20,"quality":"good"}"#)
    }

    @Test func extremeNumbersAreWrittenWhole() {
        let cases: [(DataType, SampleValue, String)] = [
            (.int64, SampleValue(int: .min), "-9223372036854775808"), (.int64, SampleValue(int: 0), "0"),
            (.uint64, SampleValue(uint: .max), "18446744073709551615"), (.int16, SampleValue(int: -7), "-7"),
            (.float64, SampleValue(double: 1.0000000000000002), "1.0000000000000002"),
            (.float64, SampleValue(double: -2.5e-300), "-2.5e-300"), (.float64, SampleValue(double: 1e15), "1000000000000000.0"),
            (.float64, SampleValue(double: -999_999_999_999_999), "-999999999999999"),
        ]
        for (type, value, text) in cases {
            #expect(JSONPayload.encode(tag: tag(type), sample: sample(value), text: nil)
                    == #"{"ts":1732540000123,"value":"# + text + #","quality":"good"}"#)
        }
        // A timestamp before 1970 (a device clock gone wrong) is a negative number, not a trap.
        let early = Sample(tag: 0, quality: .good, timestamp: -1_500_000_000, value: SampleValue(uint: 1))
        #expect(JSONPayload.encode(tag: tag(.uint16), sample: early, text: nil) == #"{"ts":-1500,"value":1,"quality":"good"}"#)
    }

    @Test func badValuesAreNullWithAReason() {
        #expect(JSONPayload.encode(tag: tag(.float32, unit: "V"), sample: sample(.zero, Quality(reason: .timeout)), text: nil)
                == #"{"ts":1732540000123,"value":null,"quality":"bad","reason":"timeout","unit":"V"}"#)
        #expect(JSONPayload.encode(tag: tag(.uint16), sample: sample(.zero, Quality(reason: .exception, detail: 2)), text: nil)
                == #"{"ts":1732540000123,"value":null,"quality":"bad","reason":"exception 2"}"#)
    }

    @Test func aMappedTagCarriesItsCodeOrIsUncertain() {
        var mapped = tag(.uint16)
        mapped.codes = CodeMap(name: "material", entries: [(1001, "MAT-4711-A")])
        #expect(JSONPayload.encode(tag: mapped, sample: sample(SampleValue(uint: 1001)), text: nil)
                == #"{"ts":1732540000123,"value":1001,"code":"MAT-4711-A","quality":"good"}"#)
        #expect(JSONPayload.encode(tag: mapped, sample: sample(SampleValue(uint: 1099), Quality(reason: .unmappedCode)), text: nil)
                == #"{"ts":1732540000123,"value":1099,"quality":"uncertain","reason":"unmapped code"}"#)
        #expect(JSONPayload.encode(tag: mapped, sample: sample(.zero, Quality(reason: .timeout)), text: nil)
                == #"{"ts":1732540000123,"value":null,"quality":"bad","reason":"timeout"}"#)
    }

    @Test func aDeviceIdentityNamesEquipmentAndWorkCenter() {
        let identity = EquipmentIdentity(equipmentId: "FIL-01", workCenter: "PACK-L3")
        #expect(JSONPayload.encode(tag: tag(.uint16, unit: "r/min"), sample: sample(SampleValue(uint: 1450)), text: nil,
                                   identity: identity)
                == #"{"ts":1732540000123,"value":1450,"quality":"good","unit":"r/min","equipment":"FIL-01","work_center":"PACK-L3"}"#)
        #expect(JSONPayload.encode(tag: tag(.uint16), sample: sample(SampleValue(uint: 1)), text: nil,
                                   identity: EquipmentIdentity(equipmentId: "CAP-01"))
                == #"{"ts":1732540000123,"value":1,"quality":"good","equipment":"CAP-01"}"#)
    }

    @Test func stringsAreEscaped() {
        #expect(JSONPayload.encode(tag: tag(.string), sample: sample(.zero), text: "a\"b\\c\n\u{01}")
                == #"{"ts":1732540000123,"value":"a\"b\\c\n\u0001","quality":"good"}"#)
    }

    @Test func nonFiniteNumbersAreNull() {
        #expect(JSONPayload.encode(tag: tag(.float32), sample: sample(SampleValue(double: .nan)), text: nil)
                == #"{"ts":1732540000123,"value":null,"quality":"good"}"#)
    }
}
