/// PROFIBUS FDL (layer 2) telegrams, IEC 61158-4-3 / EN 50170 vol. 2:
///
///     SD1  10 DA SA FC FCS 16                     no data
///     SD2  68 LE LEr 68 DA SA FC [DSAP SSAP] DU FCS 16   variable data (LE = DA…DU, 4…249)
///     SD3  A2 DA SA FC DU(8) FCS 16               8 data octets
///     SD4  DC DA SA                               token
///     SC   E5                                     short acknowledgement
///
/// FCS is the arithmetic sum of DA…DU modulo 256. A DA or SA with bit 7 set
/// carries an address extension (the service access point) in the first
/// data octets: DSAP before SSAP.
public enum FDL {
    public static let sd1: UInt8 = 0x10
    public static let sd2: UInt8 = 0x68
    public static let sd3: UInt8 = 0xA2
    public static let sd4: UInt8 = 0xDC
    public static let shortAck: UInt8 = 0xE5
    public static let endDelimiter: UInt8 = 0x16
    /// Address 127 is broadcast/multicast.
    public static let broadcast: UInt8 = 127
    public static let addressExtension: UInt8 = 0x80
    /// Longest telegram on the wire: SD2 with 246 data octets plus SAPs.
    public static let maxTelegram = 255
    /// Most data octets an SD2 telegram carries after its two SAP octets.
    public static let maxData = 244

    /// Function code bits (FC octet).
    public enum FC {
        public static let request: UInt8 = 0x40
        public static let fcb: UInt8 = 0x20
        public static let fcv: UInt8 = 0x10
        public static let functionMask: UInt8 = 0x0F
        public static let stationTypeMask: UInt8 = 0x30

        // Request functions.
        public static let sdaLow: UInt8 = 0x03
        public static let sdnLow: UInt8 = 0x04
        public static let sdaHigh: UInt8 = 0x05
        public static let sdnHigh: UInt8 = 0x06
        public static let fdlStatus: UInt8 = 0x09
        public static let srdLow: UInt8 = 0x0C
        public static let srdHigh: UInt8 = 0x0D
        public static let ident: UInt8 = 0x0E

        // Response functions.
        public static let ok: UInt8 = 0x00
        public static let userError: UInt8 = 0x01
        public static let noResource: UInt8 = 0x02
        public static let serviceNotActive: UInt8 = 0x03
        public static let dataLow: UInt8 = 0x08
        public static let notReady: UInt8 = 0x09
        public static let dataHigh: UInt8 = 0x0A
        public static let dataLowNoResource: UInt8 = 0x0C
        public static let dataHighNoResource: UInt8 = 0x0D
    }

    /// Arithmetic sum modulo 256.
    @inline(__always)
    public static func checksum(_ bytes: UnsafePointer<UInt8>, count: Int) -> UInt8 {
        var sum: UInt8 = 0
        for index in 0..<count { sum &+= bytes[index] }
        return sum
    }

    /// Writes one telegram into `out` (room for `maxTelegram` octets) and
    /// returns its length. SD1 when there is no data and no SAP, SD3 for
    /// exactly eight octets without SAPs, SD2 otherwise. Allocates nothing.
    /// - Parameters:
    ///   - dsap, ssap: service access points, or -1 for none (both or neither).
    ///   - data: `dataCount` octets after the SAPs (≤ `maxData`).
    public static func encode(into out: UnsafeMutablePointer<UInt8>, da: UInt8, sa: UInt8, fc: UInt8,
                              dsap: Int = -1, ssap: Int = -1,
                              data: UnsafePointer<UInt8>? = nil, dataCount: Int = 0) -> Int {
        precondition(dataCount <= maxData, "FDL data field too long")
        let withSAP = dsap >= 0
        let extra = withSAP ? 2 : 0
        if !withSAP && dataCount == 0 {
            out[0] = sd1
            out[1] = da; out[2] = sa; out[3] = fc
            out[4] = checksum(out + 1, count: 3)
            out[5] = endDelimiter
            return 6
        }
        var header: Int
        if !withSAP && dataCount == 8 {
            out[0] = sd3
            header = 1
        } else {
            let length = UInt8(3 + extra + dataCount)
            out[0] = sd2; out[1] = length; out[2] = length; out[3] = sd2
            header = 4
        }
        out[header] = withSAP ? da | addressExtension : da
        out[header + 1] = withSAP ? sa | addressExtension : sa
        out[header + 2] = fc
        var index = header + 3
        if withSAP {
            out[index] = UInt8(dsap)
            out[index + 1] = UInt8(ssap)
            index += 2
        }
        if let data, dataCount > 0 {
            (out + index).update(from: data, count: dataCount)
            index += dataCount
        }
        out[index] = checksum(out + header, count: index - header)
        out[index + 1] = endDelimiter
        return index + 2
    }
}

/// One telegram found in a receive buffer. Offsets point into that buffer,
/// so decoding copies nothing.
public struct FDLFrame: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case sd1, sd2, sd3, token, shortAck }
    public var kind: Kind
    /// Addresses without the extension bit; 0 for a short acknowledgement.
    public var da: UInt8 = 0
    public var sa: UInt8 = 0
    public var fc: UInt8 = 0
    /// Service access points, -1 when the address had no extension.
    public var dsap: Int = -1
    public var ssap: Int = -1
    /// Data after the SAP octets: offset into the buffer and length.
    public var dataOffset: Int = 0
    public var dataCount: Int = 0
    /// Octets the telegram occupies on the line.
    public var length: Int

    public var isRequest: Bool { fc & FDL.FC.request != 0 }
    public var function: UInt8 { fc & FDL.FC.functionMask }
}

/// Why bytes at the head of a receive buffer are not a telegram.
public enum FDLDecodeFault: Equatable, Sendable, CustomStringConvertible {
    /// Not a start delimiter: noise or the tail of a damaged telegram.
    case garbage
    case badLength
    case badChecksum
    case badEndDelimiter
    /// A SAP address flag without room for its extension octet.
    case badAddressExtension

    public var description: String {
        switch self {
        case .garbage: "garbage between telegrams"
        case .badLength: "length octets disagree or are out of range"
        case .badChecksum: "frame check sequence error"
        case .badEndDelimiter: "missing end delimiter"
        case .badAddressExtension: "address extension missing"
        }
    }
}

public enum FDLDecodeResult: Equatable, Sendable {
    case frame(FDLFrame)
    /// The buffer holds the start of a telegram; read more octets.
    case incomplete
    /// Drop `skip` octets from the head and try again.
    case invalid(FDLDecodeFault, skip: Int)
}

extension FDL {
    /// Decodes the telegram at the head of `bytes[0..<count]`. Allocates nothing.
    public static func decode(_ bytes: UnsafePointer<UInt8>, count: Int) -> FDLDecodeResult {
        guard count > 0 else { return .incomplete }
        switch bytes[0] {
        case shortAck:
            return .frame(FDLFrame(kind: .shortAck, length: 1))
        case sd4:
            guard count >= 3 else { return .incomplete }
            return .frame(FDLFrame(kind: .token, da: bytes[1] & 0x7F, sa: bytes[2] & 0x7F, length: 3))
        case sd1:
            guard count >= 6 else { return .incomplete }
            return finish(bytes, header: 1, dataEnd: 4, kind: .sd1)
        case sd3:
            guard count >= 14 else { return .incomplete }
            return finish(bytes, header: 1, dataEnd: 12, kind: .sd3)
        case sd2:
            guard count >= 4 else { return .incomplete }
            let length = Int(bytes[1])
            guard bytes[2] == bytes[1], bytes[3] == sd2, (3...249).contains(length) else {
                return .invalid(.badLength, skip: 1)
            }
            guard count >= length + 6 else { return .incomplete }
            return finish(bytes, header: 4, dataEnd: 4 + length, kind: .sd2)
        default:
            return .invalid(.garbage, skip: 1)
        }
    }

    private static func finish(_ bytes: UnsafePointer<UInt8>, header: Int, dataEnd: Int,
                               kind: FDLFrame.Kind) -> FDLDecodeResult {
        guard checksum(bytes + header, count: dataEnd - header) == bytes[dataEnd] else {
            return .invalid(.badChecksum, skip: 1)
        }
        guard bytes[dataEnd + 1] == endDelimiter else { return .invalid(.badEndDelimiter, skip: 1) }
        let rawDA = bytes[header], rawSA = bytes[header + 1]
        var frame = FDLFrame(kind: kind, da: rawDA & 0x7F, sa: rawSA & 0x7F, fc: bytes[header + 2],
                             length: dataEnd + 2)
        var data = header + 3
        // The extension octet's low 6 bits are the SAP (bit 6: segment, bit 7: more extensions).
        if rawDA & addressExtension != 0 {
            guard data < dataEnd else { return .invalid(.badAddressExtension, skip: 1) }
            frame.dsap = Int(bytes[data] & 0x3F)
            data += 1
        }
        if rawSA & addressExtension != 0 {
            guard data < dataEnd else { return .invalid(.badAddressExtension, skip: 1) }
            frame.ssap = Int(bytes[data] & 0x3F)
            data += 1
        }
        frame.dataOffset = data
        frame.dataCount = dataEnd - data
        return .frame(frame)
    }
}
