/// Linear scaling: engineering value = raw × scale + offset, then, when the tag converts units
/// (`publish_unit`), converted value = engineering value × conversion scale + conversion offset.
/// The two steps are kept apart so that a conversion adds no rounding to the scaled value
/// (−125 × 0.1 = −12.5 °C is exactly 9.5 °F). Any scaling other than the identity turns the
/// value into a float64.
public struct Scaling: Sendable, Equatable {
    public var scale: Double
    public var offset: Double
    public var conversionScale: Double
    public var conversionOffset: Double

    public init(scale: Double = 1, offset: Double = 0, conversionScale: Double = 1, conversionOffset: Double = 0) {
        self.scale = scale
        self.offset = offset
        self.conversionScale = conversionScale
        self.conversionOffset = conversionOffset
    }

    public static let identity = Scaling()

    /// The tag converts units (`publish_unit`).
    @inlinable public var converts: Bool { conversionScale != 1 || conversionOffset != 0 }

    @inlinable public var isIdentity: Bool { scale == 1 && offset == 0 && !converts }

    @inlinable public func apply(_ raw: Double) -> Double {
        (raw * scale + offset) * conversionScale + conversionOffset
    }

    /// Engineering value back to raw, for writes. Nil when a scale is 0.
    @inlinable public func invert(_ engineering: Double) -> Double? {
        guard scale != 0, conversionScale != 0 else { return nil }
        return ((engineering - conversionOffset) / conversionScale - offset) / scale
    }
}
