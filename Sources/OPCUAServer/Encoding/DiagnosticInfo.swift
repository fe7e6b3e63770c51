/// Vendor diagnostics attached to a status (Part 6 §5.2.2.12). Railgate
/// never sends any; it decodes what clients send and returns the empty one.
public final class DiagnosticInfo: Sendable, Hashable {
    public let symbolicId: Int32?
    public let namespaceUri: Int32?
    public let locale: Int32?
    public let localizedText: Int32?
    public let additionalInfo: String?
    public let innerStatusCode: StatusCode?
    public let innerDiagnosticInfo: DiagnosticInfo?

    public init(symbolicId: Int32? = nil, namespaceUri: Int32? = nil, locale: Int32? = nil,
                localizedText: Int32? = nil, additionalInfo: String? = nil,
                innerStatusCode: StatusCode? = nil, innerDiagnosticInfo: DiagnosticInfo? = nil) {
        self.symbolicId = symbolicId
        self.namespaceUri = namespaceUri
        self.locale = locale
        self.localizedText = localizedText
        self.additionalInfo = additionalInfo
        self.innerStatusCode = innerStatusCode
        self.innerDiagnosticInfo = innerDiagnosticInfo
    }

    public static let empty = DiagnosticInfo()

    public func hash(into hasher: inout Hasher) {
        hasher.combine(encoded)
    }

    public static func == (a: DiagnosticInfo, b: DiagnosticInfo) -> Bool {
        a.symbolicId == b.symbolicId && a.namespaceUri == b.namespaceUri && a.locale == b.locale
            && a.localizedText == b.localizedText && a.additionalInfo == b.additionalInfo
            && a.innerStatusCode == b.innerStatusCode && a.innerDiagnosticInfo == b.innerDiagnosticInfo
    }
}

extension DiagnosticInfo: UACodable {
    public convenience init(from reader: inout UAReader) throws(UADecodingError) {
        try reader.enter()
        let mask = try reader.readByte()
        let symbolicId = mask & 0x01 != 0 ? try reader.readInt32() : nil
        let namespaceUri = mask & 0x02 != 0 ? try reader.readInt32() : nil
        let locale = mask & 0x08 != 0 ? try reader.readInt32() : nil
        let localizedText = mask & 0x04 != 0 ? try reader.readInt32() : nil
        let additionalInfo = mask & 0x10 != 0 ? try reader.readString() : nil
        let inner = mask & 0x20 != 0 ? try StatusCode(from: &reader) : nil
        let innerInfo = mask & 0x40 != 0 ? try DiagnosticInfo(from: &reader) : nil
        reader.leave()
        self.init(symbolicId: symbolicId, namespaceUri: namespaceUri, locale: locale, localizedText: localizedText,
                  additionalInfo: additionalInfo, innerStatusCode: inner, innerDiagnosticInfo: innerInfo)
    }

    public func encode(to writer: inout UAWriter) {
        var mask: UInt8 = 0
        if symbolicId != nil { mask |= 0x01 }
        if namespaceUri != nil { mask |= 0x02 }
        if localizedText != nil { mask |= 0x04 }
        if locale != nil { mask |= 0x08 }
        if additionalInfo != nil { mask |= 0x10 }
        if innerStatusCode != nil { mask |= 0x20 }
        if innerDiagnosticInfo != nil { mask |= 0x40 }
        writer.writeByte(mask)
        if let symbolicId { writer.writeInt32(symbolicId) }
        if let namespaceUri { writer.writeInt32(namespaceUri) }
        if let locale { writer.writeInt32(locale) }
        if let localizedText { writer.writeInt32(localizedText) }
        if let additionalInfo { writer.writeString(additionalInfo) }
        if let innerStatusCode { innerStatusCode.encode(to: &writer) }
        if let innerDiagnosticInfo { innerDiagnosticInfo.encode(to: &writer) }
    }
}
