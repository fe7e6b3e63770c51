import RailgateCore

typealias SparkplugPayload = Org_Eclipse_Tahu_Protobuf_Payload
typealias SparkplugMetric = Org_Eclipse_Tahu_Protobuf_Payload.Metric

/// Sparkplug B 3.0 data types (sparkplug_b.proto `DataType`).
enum SparkplugType {
    static let int8: UInt32 = 1, int16: UInt32 = 2, int32: UInt32 = 3, int64: UInt32 = 4
    static let uint8: UInt32 = 5, uint16: UInt32 = 6, uint32: UInt32 = 7
    static let uint64: UInt32 = 8, float: UInt32 = 9, double: UInt32 = 10, boolean: UInt32 = 11, string: UInt32 = 12
}

/// Turns tags into Sparkplug metrics and DCMD metrics back into writes.
enum SparkplugMetrics {
    /// The metric's datatype: the tag's wire type, Double once scaled.
    static func dataType(_ tag: Tag) -> UInt32 {
        if !tag.scaling.isIdentity { return SparkplugType.double }
        switch tag.dataType {
        case .bool: return SparkplugType.boolean
        case .int8: return SparkplugType.int8
        case .uint8: return SparkplugType.uint8
        case .int16: return SparkplugType.int16
        case .uint16: return SparkplugType.uint16
        case .int32: return SparkplugType.int32
        case .uint32: return SparkplugType.uint32
        case .int64: return SparkplugType.int64
        case .uint64: return SparkplugType.uint64
        case .float32: return SparkplugType.float
        case .float64: return SparkplugType.double
        case .string: return SparkplugType.string
        }
    }

    /// Alias of a tag: its gateway index + 1 (stable while the configuration is).
    static func alias(_ index: Int) -> UInt64 { UInt64(index + 1) }

    /// One metric. Birth metrics carry name, datatype and properties; data
    /// metrics only alias, timestamp and value. A bad value is null with the
    /// `Quality` property 0 (Bad), the convention SCADA hosts read; an uncertain one
    /// keeps its value with `Quality` 64 (Uncertain). A mapped tag's metrics carry the
    /// code of their value in the `code` property.
    static func metric(_ tag: Tag, index: Int, sample: Sample, text: String?, birth: Bool,
                       historical: Bool = false) -> SparkplugMetric {
        var metric = SparkplugMetric()
        metric.alias = alias(index)
        if sample.timestamp > 0 { metric.timestamp = UInt64(sample.timestamp / 1_000_000) }
        if birth {
            metric.name = tag.path
            metric.datatype = dataType(tag)
        }
        if historical { metric.isHistorical = true }
        var keys: [String] = []
        var values: [Org_Eclipse_Tahu_Protobuf_Payload.PropertyValue] = []
        if birth, let unit = tag.unit {
            keys.append("engUnit")
            values.append(property(string: unit))
        }
        if birth, let range = tag.range {
            keys += ["engLow", "engHigh"]
            values += [property(double: range.lowerBound), property(double: range.upperBound)]
        }
        if sample.quality.hasValue {
            set(&metric, tag: tag, value: sample.value, text: text)
            if let codes = tag.codes {
                // The MES code beside the raw value; empty when the map does not list it.
                keys.append("code")
                values.append(property(string: codes.code(of: sample.value, kind: tag.kind) ?? ""))
            }
        } else {
            metric.isNull = true
        }
        if !sample.quality.isGood {
            keys.append("Quality")
            var quality = Org_Eclipse_Tahu_Protobuf_Payload.PropertyValue()
            quality.type = SparkplugType.int32
            quality.intValue = sample.quality.isUncertain ? 64 : 0
            values.append(quality)
        }
        if !keys.isEmpty {
            metric.properties.keys = keys
            metric.properties.values = values
        }
        return metric
    }

    static func property(string: String) -> Org_Eclipse_Tahu_Protobuf_Payload.PropertyValue {
        var value = Org_Eclipse_Tahu_Protobuf_Payload.PropertyValue()
        value.type = SparkplugType.string
        value.stringValue = string
        return value
    }

    static func property(double: Double) -> Org_Eclipse_Tahu_Protobuf_Payload.PropertyValue {
        var value = Org_Eclipse_Tahu_Protobuf_Payload.PropertyValue()
        value.type = SparkplugType.double
        value.doubleValue = double
        return value
    }

    /// Sparkplug B 3.0 §6.4.16: 8-32-bit integers travel in int_value
    /// (signed ones as two's complement), 64-bit ones in long_value.
    static func set(_ metric: inout SparkplugMetric, tag: Tag, value: SampleValue, text: String?) {
        if !tag.scaling.isIdentity {
            metric.doubleValue = value.double
            return
        }
        switch tag.dataType {
        case .bool: metric.booleanValue = value.bool
        case .int8, .int16, .int32: metric.intValue = UInt32(bitPattern: Int32(truncatingIfNeeded: value.int))
        case .uint8, .uint16, .uint32: metric.intValue = UInt32(truncatingIfNeeded: value.uint)
        case .int64: metric.longValue = UInt64(bitPattern: value.int)
        case .uint64: metric.longValue = value.uint
        case .float32: metric.floatValue = Float(value.double)
        case .float64: metric.doubleValue = value.double
        case .string: metric.stringValue = text ?? ""
        }
    }

    /// The value a DCMD metric asks to write, if its type fits the tag.
    /// The reason a DCMD metric gives for its write: its string property `reason` (Part 11 mode
    /// requires one), at most 1000 characters kept.
    static func reason(_ metric: SparkplugMetric) -> String? {
        guard metric.hasProperties, let position = metric.properties.keys.firstIndex(of: "reason"),
              metric.properties.values.indices.contains(position) else { return nil }
        let text = metric.properties.values[position].stringValue
        return text.isEmpty ? nil : String(text.prefix(1000))
    }

    static func writeValue(_ metric: SparkplugMetric, for tag: Tag) -> WriteValue? {
        switch metric.value {
        case .booleanValue(let flag)?: return tag.kind == .bool ? .bool(flag) : nil
        case .stringValue(let text)?: return tag.kind == .string || tag.codes != nil ? .text(text) : nil
        case .intValue(let raw)?:
            guard tag.kind != .string && tag.kind != .bool else { return nil }
            let signedTypes = [SparkplugType.int8, SparkplugType.int16, SparkplugType.int32]
            let signed = signedTypes.contains(metric.datatype)
                || (!metric.hasDatatype && [.int8, .int16, .int32].contains(tag.dataType))
            return .number(signed ? Double(Int32(bitPattern: raw)) : Double(raw))
        case .longValue(let raw)?:
            guard tag.kind != .string && tag.kind != .bool else { return nil }
            let signed = metric.datatype == SparkplugType.int64 || (!metric.hasDatatype && tag.dataType == .int64)
            return .number(signed ? Double(Int64(bitPattern: raw)) : Double(raw))
        case .floatValue(let number)?: return tag.kind == .string || tag.kind == .bool ? nil : .number(Double(number))
        case .doubleValue(let number)?: return tag.kind == .string || tag.kind == .bool ? nil : .number(number)
        default: return nil
        }
    }
}
