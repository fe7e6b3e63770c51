/// An engineering unit as OPC UA publishes it (Part 8 §5.6.3 EUInformation): its UNECE
/// Recommendation 20 common code, the unitId derived from it, its symbol and description.
///
/// A tag's `unit` may be written as the UNECE code (`CEL`, `KWH`), its UCUM code (`Cel`,
/// `kW.h`), its symbol (`°C`, `kW·h`) or a common spelling (`degC`, `kWh`, `rpm`); all find the
/// same unit. The table is generated (scripts/gen/units_gen.py) from the OPC Foundation's
/// UNECE_to_OPCUA.csv and scripts/gen/units.csv.
public struct EngineeringUnit: Sendable, Equatable {
    public let code: String
    public let unitId: Int32
    public let symbol: String
    public let description: String

    /// The unit a configuration's text names, or nil. Looked for as a UNECE code, then as a
    /// UCUM code or common spelling, then as a symbol, then as an upper-cased code.
    public static func named(_ text: String) -> EngineeringUnit? {
        let index = Index.shared
        if let unit = index.byCode[text] { return unit }
        if let code = index.byName[text], let unit = index.byCode[code] { return unit }
        if let unit = index.bySymbol[text] { return unit }
        return index.byCode[text.uppercased()]
    }

    /// What the unit measures (`temperature`, `pressure` …), when it converts into other units.
    public var dimension: String? { Index.shared.conversions[code]?.dimension }

    /// `value × scale + offset` converts a value in this unit into `other`; nil when they do not
    /// convert (another dimension, or a unit without a conversion).
    public func conversion(to other: EngineeringUnit) -> (scale: Double, offset: Double)? {
        if other.code == code { return (1, 0) }
        let conversions = Index.shared.conversions
        guard let from = conversions[code], let to = conversions[other.code], from.dimension == to.dimension else {
            return nil
        }
        // scale = f₁ / f₂, offset = (o₁ − o₂) / f₂, exactly where the fractions allow (°C → °F is
        // 9/5 and 32, not 1.7999999999999998), else in floating point.
        let scale = from.factor.divided(by: to.factor)
        let offset = from.offset.minus(to.offset).flatMap { $0.divided(by: to.factor) }
        return (scale?.value ?? from.factor.value / to.factor.value,
                offset?.value ?? (from.offset.value - to.offset.value) / to.factor.value)
    }

    /// An exact fraction of the generated table; arithmetic is nil where it would overflow.
    struct Fraction: Sendable {
        var numerator: Int64
        var denominator: Int64

        init?(_ text: Substring) {
            let parts = text.split(separator: "/")
            guard parts.count == 2, let n = Int64(parts[0]), let d = Int64(parts[1]), d > 0 else { return nil }
            numerator = n
            denominator = d
        }

        init(_ numerator: Int64, _ denominator: Int64) {
            self.numerator = numerator
            self.denominator = denominator
        }

        var value: Double { Double(numerator) / Double(denominator) }

        func divided(by other: Fraction) -> Fraction? {
            guard other.numerator != 0,
                  let n = Self.product(numerator, other.denominator), let d = Self.product(denominator, other.numerator)
            else { return nil }
            return d < 0 ? (n == .min || d == .min ? nil : Fraction(-n, -d)) : Fraction(n, d)
        }

        func minus(_ other: Fraction) -> Fraction? {
            guard let a = Self.product(numerator, other.denominator), let b = Self.product(other.numerator, denominator),
                  let d = Self.product(denominator, other.denominator) else { return nil }
            let (n, overflow) = a.subtractingReportingOverflow(b)
            return overflow ? nil : Fraction(n, d)
        }

        private static func product(_ a: Int64, _ b: Int64) -> Int64? {
            let (p, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? nil : p
        }
    }

    /// The units whose code, other name or symbol is closest to `text` (for an error message):
    /// `Cel (°C, degree Celsius)`, at most `limit`.
    public static func suggestions(for text: String, limit: Int = 3) -> [String] {
        // Long text names no unit; comparing it with every name would only cost time.
        guard text.unicodeScalars.count <= 24 else { return [] }
        let index = Index.shared
        let wanted = Array(text.lowercased().unicodeScalars)
        var scored: [(distance: Int, name: String, unit: EngineeringUnit)] = []
        for (name, unit) in index.allNames {
            let distance = EditDistance.between(wanted, name.lowercased().unicodeScalars)
            if distance <= max(1, wanted.count / 2) { scored.append((distance, name, unit)) }
        }
        scored.sort { ($0.distance, $0.name.count, $0.name) < ($1.distance, $1.name.count, $1.name) }
        var seen = Set<String>()
        var result: [String] = []
        for candidate in scored where seen.insert(candidate.unit.code).inserted {
            result.append("\(candidate.name) (\(candidate.unit.symbol), \(candidate.unit.description))")
            if result.count == limit { break }
        }
        return result
    }

    /// The generated table, parsed once.
    private struct Index: Sendable {
        var byCode: [String: EngineeringUnit] = [:]
        var byName: [String: String] = [:]
        var bySymbol: [String: EngineeringUnit] = [:]
        /// Every code, other name and symbol with its unit, for suggestions.
        var allNames: [(String, EngineeringUnit)] = []
        var conversions: [String: (dimension: String, factor: Fraction, offset: Fraction)] = [:]

        static let shared = Index()

        init() {
            for line in UnitTable.units.split(separator: "\n") {
                let fields = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false)
                guard fields.count == 4, let id = Int32(fields[1]) else { continue }
                let unit = EngineeringUnit(code: String(fields[0]), unitId: id, symbol: String(fields[2]),
                                           description: String(fields[3]))
                byCode[unit.code] = unit
                // The first unit of a symbol keeps it (`V` is VLT, not 2G "volt AC").
                if bySymbol[unit.symbol] == nil { bySymbol[unit.symbol] = unit }
                allNames.append((unit.code, unit))
            }
            for line in UnitTable.names.split(separator: "\n") {
                let fields = line.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
                guard fields.count == 2, let unit = byCode[String(fields[1])] else { continue }
                byName[String(fields[0])] = unit.code
                allNames.append((String(fields[0]), unit))
            }
            allNames += bySymbol.map { ($0.key, $0.value) }
            for line in UnitTable.conversions.split(separator: "\n") {
                let fields = line.split(separator: "|", omittingEmptySubsequences: false)
                guard fields.count == 4, let factor = Fraction(fields[2]), let offset = Fraction(fields[3]),
                      factor.numerator > 0 else { continue }
                conversions[String(fields[0])] = (String(fields[1]), factor, offset)
            }
        }
    }
}
