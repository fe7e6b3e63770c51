/// Everything Railgate knows about one tag once the configuration is
/// validated: its identity, how its raw value becomes an engineering value,
/// and how changes are filtered. Built at start/reload; the hot path never
/// touches it (it uses precomputed decode steps indexed by integer).
public struct Tag: Sendable, Equatable {
    /// Name unique within its device, e.g. `voltage_l1`.
    public var name: String
    /// Device the tag belongs to.
    public var device: String
    /// Full path: the ISA-95 hierarchy, the device and the tag name joined by `/`.
    public var path: String
    public var dataType: DataType
    public var order: ByteOrder
    public var scaling: Scaling
    /// Engineering unit, e.g. `V`, `rpm`; nil when none.
    public var unit: String?
    /// Absolute deadband in engineering units; 0 publishes every change.
    public var deadband: Double
    /// North may request writes (still subject to the global write policy).
    public var writable: Bool
    /// Length in registers for strings, else 0.
    public var stringLength: Int
    /// Engineering range (OPC UA EURange), when configured.
    public var range: ClosedRange<Double>?
    /// The code translation table of an integer tag (`map:`), when configured.
    public var codes: CodeMap?

    public init(name: String, device: String, path: String, dataType: DataType, order: ByteOrder = .abcd,
                scaling: Scaling = .identity, unit: String? = nil, deadband: Double = 0,
                writable: Bool = false, stringLength: Int = 0, range: ClosedRange<Double>? = nil,
                codes: CodeMap? = nil) {
        self.name = name
        self.device = device
        self.path = path
        self.dataType = dataType
        self.order = order
        self.scaling = scaling
        self.unit = unit
        self.deadband = deadband
        self.writable = writable
        self.stringLength = stringLength
        self.range = range
        self.codes = codes
    }

    /// The kind of the engineering value (after scaling).
    public var kind: ValueKind { scaling.isIdentity ? dataType.rawKind : .double }
}
