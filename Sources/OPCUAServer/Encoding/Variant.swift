/// The built-in types a Variant can hold, by their Part 6 type id.
public enum BuiltinType: UInt8, Sendable, CaseIterable {
    case boolean = 1, sByte, byte, int16, uInt16, int32, uInt32, int64, uInt64, float, double, string,
         dateTime, guid, byteString, xmlElement, nodeId, expandedNodeId, statusCode, qualifiedName,
         localizedText, extensionObject, dataValue, variant, diagnosticInfo

    /// The DataType node of namespace 0 with the same number.
    public var dataTypeId: NodeId { NodeId(UInt32(rawValue)) }
}

/// One scalar of a built-in type.
public indirect enum VariantValue: Hashable, Sendable {
    case boolean(Bool)
    case sByte(Int8)
    case byte(UInt8)
    case int16(Int16)
    case uInt16(UInt16)
    case int32(Int32)
    case uInt32(UInt32)
    case int64(Int64)
    case uInt64(UInt64)
    case float(Float)
    case double(Double)
    case string(String?)
    case dateTime(UADateTime)
    case guid(UAGuid)
    case byteString([UInt8]?)
    case xmlElement([UInt8]?)
    case nodeId(NodeId)
    case expandedNodeId(ExpandedNodeId)
    case statusCode(StatusCode)
    case qualifiedName(QualifiedName)
    case localizedText(LocalizedText)
    case extensionObject(ExtensionObject)
    case dataValue(DataValue)
    case variant(Variant)
    case diagnosticInfo(DiagnosticInfo)

    public var type: BuiltinType {
        switch self {
        case .boolean: .boolean
        case .sByte: .sByte
        case .byte: .byte
        case .int16: .int16
        case .uInt16: .uInt16
        case .int32: .int32
        case .uInt32: .uInt32
        case .int64: .int64
        case .uInt64: .uInt64
        case .float: .float
        case .double: .double
        case .string: .string
        case .dateTime: .dateTime
        case .guid: .guid
        case .byteString: .byteString
        case .xmlElement: .xmlElement
        case .nodeId: .nodeId
        case .expandedNodeId: .expandedNodeId
        case .statusCode: .statusCode
        case .qualifiedName: .qualifiedName
        case .localizedText: .localizedText
        case .extensionObject: .extensionObject
        case .dataValue: .dataValue
        case .variant: .variant
        case .diagnosticInfo: .diagnosticInfo
        }
    }

    public static func == (a: VariantValue, b: VariantValue) -> Bool {
        var wa = UAWriter(), wb = UAWriter()
        a.encodeBody(to: &wa)
        b.encodeBody(to: &wb)
        return a.type == b.type && wa.bytes == wb.bytes
    }

    public func hash(into hasher: inout Hasher) {
        var writer = UAWriter()
        encodeBody(to: &writer)
        hasher.combine(type)
        hasher.combine(writer.bytes)
    }

    static func decodeBody(_ type: BuiltinType, from reader: inout UAReader) throws(UADecodingError) -> VariantValue {
        switch type {
        case .boolean: .boolean(try reader.readBoolean())
        case .sByte: .sByte(try reader.readSByte())
        case .byte: .byte(try reader.readByte())
        case .int16: .int16(try reader.readInt16())
        case .uInt16: .uInt16(try reader.readUInt16())
        case .int32: .int32(try reader.readInt32())
        case .uInt32: .uInt32(try reader.readUInt32())
        case .int64: .int64(try reader.readInt64())
        case .uInt64: .uInt64(try reader.readUInt64())
        case .float: .float(try reader.readFloat())
        case .double: .double(try reader.readDouble())
        case .string: .string(try reader.readString())
        case .dateTime: .dateTime(try UADateTime(from: &reader))
        case .guid: .guid(try UAGuid(from: &reader))
        case .byteString: .byteString(try reader.readByteString())
        case .xmlElement: .xmlElement(try reader.readByteString())
        case .nodeId: .nodeId(try NodeId(from: &reader))
        case .expandedNodeId: .expandedNodeId(try ExpandedNodeId(from: &reader))
        case .statusCode: .statusCode(try StatusCode(from: &reader))
        case .qualifiedName: .qualifiedName(try QualifiedName(from: &reader))
        case .localizedText: .localizedText(try LocalizedText(from: &reader))
        case .extensionObject: .extensionObject(try ExtensionObject(from: &reader))
        case .dataValue: .dataValue(try DataValue(from: &reader))
        case .variant: .variant(try Variant(from: &reader))
        case .diagnosticInfo: .diagnosticInfo(try DiagnosticInfo(from: &reader))
        }
    }

    func encodeBody(to writer: inout UAWriter) {
        switch self {
        case .boolean(let v): writer.writeBoolean(v)
        case .sByte(let v): writer.writeSByte(v)
        case .byte(let v): writer.writeByte(v)
        case .int16(let v): writer.writeInt16(v)
        case .uInt16(let v): writer.writeUInt16(v)
        case .int32(let v): writer.writeInt32(v)
        case .uInt32(let v): writer.writeUInt32(v)
        case .int64(let v): writer.writeInt64(v)
        case .uInt64(let v): writer.writeUInt64(v)
        case .float(let v): writer.writeFloat(v)
        case .double(let v): writer.writeDouble(v)
        case .string(let v): writer.writeString(v)
        case .dateTime(let v): v.encode(to: &writer)
        case .guid(let v): v.encode(to: &writer)
        case .byteString(let v), .xmlElement(let v): writer.writeByteString(v)
        case .nodeId(let v): v.encode(to: &writer)
        case .expandedNodeId(let v): v.encode(to: &writer)
        case .statusCode(let v): v.encode(to: &writer)
        case .qualifiedName(let v): v.encode(to: &writer)
        case .localizedText(let v): v.encode(to: &writer)
        case .extensionObject(let v): v.encode(to: &writer)
        case .dataValue(let v): v.encode(to: &writer)
        case .variant(let v): v.encode(to: &writer)
        case .diagnosticInfo(let v): v.encode(to: &writer)
        }
    }
}

/// A value of any built-in type: empty, a scalar, or an array (with
/// optional dimensions), Part 6 §5.2.2.16.
public enum Variant: Hashable, Sendable {
    case empty
    case scalar(VariantValue)
    /// All elements have `type`; `dimensions` for multi-dimensional arrays.
    case array(type: BuiltinType, values: [VariantValue], dimensions: [Int32]?)
}

extension Variant: UACodable {
    public init(from reader: inout UAReader) throws(UADecodingError) {
        try reader.enter()
        defer { reader.leave() }
        let start = reader.offset
        let mask = try reader.readByte()
        if mask == 0 {
            self = .empty
            return
        }
        guard let type = BuiltinType(rawValue: mask & 0x3F) else {
            throw .badEncoding("Variant type \(mask & 0x3F)", offset: start)
        }
        if mask & 0x80 == 0 {
            // A scalar Variant inside a Variant is not allowed (Part 6 §5.2.2.16).
            guard type != .variant else { throw .badEncoding("Variant nested as a scalar", offset: start) }
            self = .scalar(try VariantValue.decodeBody(type, from: &reader))
            return
        }
        let values = try reader.readArray { (r: inout UAReader) throws(UADecodingError) in
            try VariantValue.decodeBody(type, from: &r)
        }
        var dimensions: [Int32]? = nil
        if mask & 0x40 != 0 {
            let dims = try reader.readArray { (r: inout UAReader) throws(UADecodingError) in try r.readInt32() }
            guard Self.elementCount(dims) == values.count else {
                let shown = dims.prefix(8).map(String.init).joined(separator: ", ") + (dims.count > 8 ? ", …" : "")
                throw .badEncoding("array dimensions [\(shown)] do not match \(values.count) elements", offset: start)
            }
            dimensions = dims
        }
        self = .array(type: type, values: values, dimensions: dimensions)
    }

    /// The number of elements `dimensions` describe; nil for a negative dimension or a product
    /// past Int (a peer may send [2³¹-1, 2³¹-1, 2³¹-1]).
    static func elementCount(_ dimensions: [Int32]) -> Int? {
        var product = 1
        for dimension in dimensions {
            guard dimension >= 0 else { return nil }
            let (next, overflow) = product.multipliedReportingOverflow(by: Int(dimension))
            guard !overflow else { return nil }
            product = next
        }
        return product
    }

    public func encode(to writer: inout UAWriter) {
        switch self {
        case .empty:
            writer.writeByte(0)
        case .scalar(let value):
            writer.writeByte(value.type.rawValue)
            value.encodeBody(to: &writer)
        case .array(let type, let values, let dimensions):
            writer.writeByte(type.rawValue | 0x80 | (dimensions != nil ? 0x40 : 0))
            writer.writeInt32(Int32(values.count))
            for value in values { value.encodeBody(to: &writer) }
            if let dimensions { writer.writeArray(dimensions) { $0.writeInt32($1) } }
        }
    }
}
