/// A code translation table: the integer values a device reports for a thing (a material
/// number, a recipe, a stop reason) and the code the MES knows each one by, e.g.
/// `1001 → MAT-4711-A`. A tag with a map is published with its raw value and, beside it, the
/// code of that value; a value the map does not list keeps its raw value with quality
/// Uncertain (unmapped code), so a gap in the table is seen, not hidden.
///
/// Lookups are a binary search over the sorted raw values: no allocation, so the engine can
/// decide a sample's quality on the sampling path.
///
/// A class, immutable: the tags that use a map share it, and a tag without one pays a
/// reference's 8 bytes in each of its descriptions, not the map's 32.
public final class CodeMap: Sendable, Equatable {
    /// The map's name in the configuration (`maps.<name>`).
    public let name: String
    /// Raw values, ascending, without repeats.
    public let values: [Int64]
    /// The code of each raw value, by position in `values`.
    public let codes: [String]

    /// - Parameter entries: raw value → code; a raw value given twice keeps its first code.
    public init(name: String, entries: [(value: Int64, code: String)]) {
        self.name = name
        var seen = Set<Int64>()
        let sorted = entries.filter { seen.insert($0.value).inserted }.sorted { $0.value < $1.value }
        values = sorted.map(\.value)
        codes = sorted.map(\.code)
    }

    public var count: Int { values.count }

    /// The same map: the same name, raw values and codes.
    public static func == (lhs: CodeMap, rhs: CodeMap) -> Bool {
        lhs === rhs || (lhs.name == rhs.name && lhs.values == rhs.values && lhs.codes == rhs.codes)
    }

    /// The position of `raw` in `values`, or nil. Allocates nothing.
    @inlinable public func position(of raw: Int64) -> Int? {
        var low = 0
        var high = values.count
        while low < high {
            let middle = low + (high - low) / 2
            let candidate = values[middle]
            if candidate == raw { return middle }
            if candidate < raw { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    /// The code of `raw`, or nil when the map does not list it.
    public func code(for raw: Int64) -> String? {
        position(of: raw).map { codes[$0] }
    }

    /// The raw value of `code` (for writes that name a code), or nil.
    public func value(of code: String) -> Int64? {
        codes.firstIndex(of: code).map { values[$0] }
    }

    /// The raw value a sample of a tag of `kind` carries, as the map's key type; nil when it
    /// cannot be a key (a uint64 above Int64.max, a non-integer kind).
    @inlinable public static func raw(_ value: SampleValue, kind: ValueKind) -> Int64? {
        switch kind {
        case .int: value.int
        case .uint: value.uint <= UInt64(Int64.max) ? Int64(value.uint) : nil
        case .bool: value.bool ? 1 : 0
        case .double, .string: nil
        }
    }

    /// The code of a sample's value, or nil (unmapped, or not a map's kind of value).
    public func code(of value: SampleValue, kind: ValueKind) -> String? {
        guard let raw = Self.raw(value, kind: kind) else { return nil }
        return code(for: raw)
    }
}
