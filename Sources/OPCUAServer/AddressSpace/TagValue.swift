import RailgateCore

/// How a gateway tag appears in OPC UA: its DataType and its current
/// DataValue with a StatusCode for its quality.
enum TagValue {
    /// The DataType node of a tag's engineering value.
    static func dataType(of tag: Tag) -> NodeId {
        if !tag.scaling.isIdentity { return UAIds.double }
        switch tag.dataType {
        case .bool: return UAIds.boolean
        case .int8: return UAIds.sByte
        case .uint8: return UAIds.byte
        case .int16: return UAIds.int16
        case .uint16: return UAIds.uInt16
        case .int32: return UAIds.int32
        case .uint32: return UAIds.uInt32
        case .int64: return UAIds.int64
        case .uint64: return UAIds.uInt64
        case .float32: return UAIds.float
        case .float64: return UAIds.double
        case .string: return UAIds.string
        }
    }

    /// Tag quality → StatusCode (Part 4 §7.39 / Part 8 data access codes).
    static func status(_ quality: Quality) -> StatusCode {
        switch quality.reason {
        case .none: .good
        case .timeout: .badTimeout
        case .crc, .protocolError: .badCommunicationError
        case .exception: .badDeviceFailure
        case .disconnected: .badNoCommunication
        case .config: .badConfigurationError
        case .waitingForInitialData: .badWaitingForInitialData
        // The map lacks this value: a gap in the configuration, the raw value is served.
        case .unmappedCode: .uncertainConfigurationError
        }
    }

    static func variant(_ tag: Tag, _ state: TagState) -> Variant {
        variant(tag, state.sample.value, text: state.text)
    }

    /// A value of the tag's kind as the tag's DataType.
    static func variant(_ tag: Tag, _ value: SampleValue, text: String? = nil) -> Variant {
        if !tag.scaling.isIdentity { return .scalar(.double(value.double)) }
        switch tag.dataType {
        case .bool: return .scalar(.boolean(value.bool))
        case .int8: return .scalar(.sByte(Int8(truncatingIfNeeded: value.int)))
        case .uint8: return .scalar(.byte(UInt8(truncatingIfNeeded: value.uint)))
        case .int16: return .scalar(.int16(Int16(truncatingIfNeeded: value.int)))
        case .uint16: return .scalar(.uInt16(UInt16(truncatingIfNeeded: value.uint)))
        case .int32: return .scalar(.int32(Int32(truncatingIfNeeded: value.int)))
        case .uint32: return .scalar(.uInt32(UInt32(truncatingIfNeeded: value.uint)))
        case .int64: return .scalar(.int64(value.int))
        case .uint64: return .scalar(.uInt64(value.uint))
        case .float32: return .scalar(.float(Float(value.double)))
        case .float64: return .scalar(.double(value.double))
        case .string: return .scalar(.string(text ?? ""))
        }
    }

    /// The tag's current value. A tag never read has no value, only a status;
    /// a tag that went bad keeps its last value beside the bad status.
    static func dataValue(_ tag: Tag, _ state: TagState) -> DataValue {
        let quality = state.sample.quality
        let hasValue = quality.reason != .waitingForInitialData && quality.reason != .config
        return DataValue(
            value: hasValue ? variant(tag, state) : nil,
            status: status(quality),
            sourceTimestamp: state.sample.timestamp == 0 ? nil : UADateTime(unixNanoseconds: state.sample.timestamp),
            serverTimestamp: state.gatewayTimestamp == 0 ? nil : UADateTime(unixNanoseconds: state.gatewayTimestamp))
    }
}
