/// Linear scaling: engineering value = raw × scale + offset.
/// Any scaling other than the identity turns the value into a float64.
public struct Scaling: Sendable, Equatable {
    public var scale: Double
    public var offset: Double

    public init(scale: Double = 1, offset: Double = 0) {
        self.scale = scale
        self.offset = offset
    }

    public static let identity = Scaling()

    @inlinable public var isIdentity: Bool { scale == 1 && offset == 0 }

    @inlinable public func apply(_ raw: Double) -> Double { raw * scale + offset }

    /// Engineering value back to raw, for writes. Nil when `scale` is 0.
    @inlinable public func invert(_ engineering: Double) -> Double? {
        scale == 0 ? nil : (engineering - offset) / scale
    }
}
