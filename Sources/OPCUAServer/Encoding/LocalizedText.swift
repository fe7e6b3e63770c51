/// Human-readable text with an optional locale, Part 6 §5.2.2.14.
public struct LocalizedText: Hashable, Sendable {
    public var locale: String?
    public var text: String?

    public init(_ text: String?, locale: String? = nil) {
        self.text = text
        self.locale = locale
    }

    public static let null = LocalizedText(nil)
}

extension LocalizedText: UACodable {
    public init(from reader: inout UAReader) throws(UADecodingError) {
        let mask = try reader.readByte()
        locale = mask & 0x01 != 0 ? try reader.readString() : nil
        text = mask & 0x02 != 0 ? try reader.readString() : nil
    }

    public func encode(to writer: inout UAWriter) {
        writer.writeByte((locale != nil ? 0x01 : 0) | (text != nil ? 0x02 : 0))
        if let locale { writer.writeString(locale) }
        if let text { writer.writeString(text) }
    }
}
