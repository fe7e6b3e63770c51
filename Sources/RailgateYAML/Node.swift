/// A YAML node as Railgate's configuration reads it: scalars keep the text
/// and quoting as written (`00001` keeps its zeros; readers decide what it
/// means), every node keeps the line it starts on, mappings keep their keys
/// in file order. Flow or block is not kept: the console writes every
/// collection in block style, one key or item per line, so that a change
/// shows as the lines it changes.
/// Aliases are resolved when composing: an alias is the node its anchor
/// names (shared, not copied: the arrays underneath are copy-on-write).
public enum Node: Sendable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(Sequence)

    /// A single value, as written.
    public struct Scalar: Sendable {
        /// How the value was written, and how it is written back.
        public enum Style: UInt32, Sendable {
            case any = 0, plain, singleQuoted, doubleQuoted, literal, folded
        }

        public var string: String
        public var style: Style
        /// 1-based; nil for a node made in memory.
        public var line: Int?

        public init(_ string: String, style: Style = .any, line: Int? = nil) {
            self.string = string
            self.style = style
            self.line = line
        }
    }

    /// Keys and values in file order. Keys are scalars: the composer refuses
    /// any other key, so a key is looked up by its text.
    public struct Mapping: Sendable, Swift.Sequence, ExpressibleByDictionaryLiteral {
        public private(set) var pairs: [(key: Node, value: Node)]
        public var line: Int?

        public init() {
            self.init([], line: nil)
        }

        public init(_ pairs: [(key: Node, value: Node)], line: Int? = nil) {
            self.pairs = pairs
            self.line = line
        }

        public init(dictionaryLiteral elements: (String, Node)...) {
            self.init(elements.map { (key: Node.scalar(Scalar($0.0)), value: $0.1) })
        }

        public var count: Int { pairs.count }
        public var isEmpty: Bool { pairs.isEmpty }
        public var keys: [String] { pairs.compactMap { $0.key.string } }

        public func makeIterator() -> IndexingIterator<[(key: Node, value: Node)]> { pairs.makeIterator() }

        /// The value of `key`; setting replaces it in place, adds it at the end, or (nil) removes it.
        public subscript(key: String) -> Node? {
            get { pairs.first { $0.key.string == key }?.value }
            set {
                let index = pairs.firstIndex { $0.key.string == key }
                switch (index, newValue) {
                case (let index?, let value?): pairs[index].value = value
                case (let index?, nil): pairs.remove(at: index)
                case (nil, let value?): pairs.append((key: .scalar(Scalar(key)), value: value))
                case (nil, nil): break
                }
            }
        }

        /// Appends a pair without looking for an existing key (the composer has checked).
        mutating func append(key: Node, value: Node) {
            pairs.append((key: key, value: value))
        }
    }

    /// A list.
    public struct Sequence: Sendable, RandomAccessCollection, MutableCollection, RangeReplaceableCollection, ExpressibleByArrayLiteral {
        public var items: [Node]
        public var line: Int?

        public init() {
            self.init([], line: nil)
        }

        public init(arrayLiteral elements: Node...) {
            self.init(elements, line: nil)
        }

        public init(_ items: [Node], line: Int?) {
            self.items = items
            self.line = line
        }

        public var startIndex: Int { items.startIndex }
        public var endIndex: Int { items.endIndex }

        public subscript(position: Int) -> Node {
            get { items[position] }
            set { items[position] = newValue }
        }

        public mutating func replaceSubrange<C: Collection>(_ subrange: Range<Int>, with newElements: C) where C.Element == Node {
            items.replaceSubrange(subrange, with: newElements)
        }
    }

    public var scalar: Scalar? {
        if case .scalar(let scalar) = self { return scalar }
        return nil
    }

    public var mapping: Mapping? {
        if case .mapping(let mapping) = self { return mapping }
        return nil
    }

    public var sequence: Sequence? {
        if case .sequence(let sequence) = self { return sequence }
        return nil
    }

    /// A scalar's text, as written.
    public var string: String? { scalar?.string }

    /// The 1-based line the node starts on.
    public var line: Int? {
        switch self {
        case .scalar(let scalar): return scalar.line
        case .mapping(let mapping): return mapping.line
        case .sequence(let sequence): return sequence.line
        }
    }

    /// A scalar read as a YAML 1.1 boolean (`true`/`yes`/`on`, `false`/`no`/`off`, any case).
    public var bool: Bool? { string.flatMap(Node.bool(of:)) }

    /// A scalar read as an integer: decimal with an optional sign, or `0x`, `0o`, `0b` digits.
    public var int: Int? { string.flatMap(Node.int(of:)) }

    public static func bool(of text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    public static func int(of text: String) -> Int? {
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        var radix = 10
        for (prefix, base) in [("0x", 16), ("0o", 8), ("0b", 2)] where digits.hasPrefix(prefix) {
            radix = base
            digits = digits.dropFirst(2)
        }
        guard !digits.isEmpty, digits.first != "-", digits.first != "+",
              let magnitude = UInt(digits, radix: radix) else { return nil }
        if negative {
            return magnitude <= UInt(Int.max) + 1 ? Int(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt(Int.max) ? Int(magnitude) : nil
    }
}
