/// Why a value is not good. Stored in one byte inside `Quality`. Most reasons make the value
/// bad (no value read now); `unmappedCode` makes it uncertain (a value was read, but its code
/// map does not list it).
public enum BadReason: UInt8, Sendable, CustomStringConvertible {
    /// The value is good.
    case none = 0
    /// The device did not answer within the response timeout.
    case timeout
    /// The RTU frame arrived with a wrong CRC.
    case crc
    /// The device answered with a Modbus exception; `Quality.detail` holds the code.
    case exception
    /// The connection or serial line is down, or could not be opened.
    case disconnected
    /// The answer was malformed (wrong length, transaction id or unit).
    case protocolError
    /// The configuration does not allow the value to be read.
    case config
    /// No read has completed since start or reload.
    case waitingForInitialData
    /// Uncertain: the raw value was read but the tag's code map does not list it.
    case unmappedCode

    public var description: String {
        switch self {
        case .none: "none"
        case .timeout: "timeout"
        case .crc: "crc"
        case .exception: "exception"
        case .disconnected: "disconnected"
        case .protocolError: "protocol error"
        case .config: "config"
        case .waitingForInitialData: "waiting for initial data"
        case .unmappedCode: "unmapped code"
        }
    }
}

/// Good, uncertain or bad, with a reason. A trivial 2-byte value.
public struct Quality: Equatable, Sendable, CustomStringConvertible {
    public var reason: BadReason
    /// The Modbus exception code when `reason == .exception`, else 0.
    public var detail: UInt8

    @inlinable public init(reason: BadReason, detail: UInt8 = 0) {
        self.reason = reason
        self.detail = detail
    }

    public static let good = Quality(reason: .none)

    @inlinable public var isGood: Bool { reason == .none }

    /// A value was read but is not fully trusted (OPC UA Uncertain).
    @inlinable public var isUncertain: Bool { reason == .unmappedCode }

    /// The sample carries a value read now: good or uncertain. A bad sample's value is not
    /// read now (readers keep the last one).
    @inlinable public var hasValue: Bool { reason == .none || reason == .unmappedCode }

    /// `good`, `uncertain` or `bad`, as published north.
    public var level: String { isGood ? "good" : isUncertain ? "uncertain" : "bad" }

    /// `good`, or `bad: <reason>` (with the exception code where there is one).
    public var description: String {
        switch reason {
        case .none: "good"
        case .exception: "bad: exception \(detail)"
        default: "\(level): \(reason)"
        }
    }

    /// The reason as published north, e.g. `timeout`, `exception 2`; nil when good.
    public var reasonText: String? {
        switch reason {
        case .none: nil
        case .exception: "exception \(detail)"
        default: reason.description
        }
    }
}
