import FoundationEssentials
import RailgateConfig
import RailgateYAML

/// A configuration being edited from the console: the YAML tree of the
/// running file, changed by `set`/`delete`/`load`, checked by `validate`.
/// Paths name keys and list elements: `gateway.writes`,
/// `south[0].devices[meter1].poll_ms` (an element by index or by its
/// `name`), `south[tcp1].devices[meter1].tags[+]` (append).
public struct CandidateConfig {
    public private(set) var root: Node
    /// Relative file names (GSD files) resolve against this directory.
    public let baseDirectory: String

    public struct EditError: Error, CustomStringConvertible, Equatable {
        public var message: String
        public var description: String { message }
    }

    enum Step: Equatable {
        case key(String)
        case index(Int)
        case named(String)
        case append
    }

    public init(yaml: String, baseDirectory: String) throws(EditError) {
        do {
            guard let node = try ConfigText.compose(yaml), node.mapping != nil else {
                throw EditError(message: "the configuration is not a YAML mapping")
            }
            root = node
        } catch let error as EditError {
            throw error
        } catch let error as ConfigText.Problem {
            throw EditError(message: "\(error)")
        } catch {
            throw EditError(message: "YAML: \(error)")
        }
        self.baseDirectory = baseDirectory
    }

    /// The candidate as YAML text (block style, keys in their order).
    public var yaml: String {
        YAML.serialize(root)
    }

    /// Checks the whole candidate as `railgate check` would.
    public func validate() -> Result<Configuration, ConfigError> {
        do {
            return .success(try Configuration.load(yaml: yaml, baseDirectory: baseDirectory))
        } catch {
            return .failure(error)
        }
    }

    /// The value at `path`, or nil.
    public func value(at path: String) throws(EditError) -> Node? {
        var node: Node? = root
        for step in try Self.parse(path) {
            guard let current = node else { return nil }
            node = try Self.child(current, step, path: path)
        }
        return node
    }

    /// Sets `path` to `value` (YAML text: a scalar, or flow YAML such as
    /// `{name: x, ref: 400010}` or `[0, 100]`). Creates missing mappings on the way.
    public mutating func set(_ path: String, to value: String) throws(EditError) {
        let parsed: Node
        do {
            guard let node = try ConfigText.compose(value) else { throw EditError(message: "a value is missing") }
            parsed = node
        } catch let error as EditError {
            throw error
        } catch let error as ConfigText.Problem {
            throw EditError(message: "\"\(value.prefix(80))\" is not a YAML value: \(error.message)")
        } catch {
            throw EditError(message: "\"\(value.prefix(80))\" is not a YAML value: \(error)")
        }
        root = try Self.replacing(root, steps: try Self.parse(path)[...], with: parsed, path: path)
    }

    /// Removes the key or list element at `path`.
    public mutating func delete(_ path: String) throws(EditError) {
        guard try value(at: path) != nil else { throw EditError(message: "\(path) is not set") }
        root = try Self.replacing(root, steps: try Self.parse(path)[...], with: nil, path: path)
    }

    // MARK: Paths

    static func parse(_ path: String) throws(EditError) -> [Step] {
        guard !path.isEmpty else { throw EditError(message: "a path is missing (e.g. gateway.writes)") }
        var steps: [Step] = []
        for segment in path.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = Substring(segment)
            let key = rest.prefix { $0 != "[" }
            guard !key.isEmpty else { throw EditError(message: "\(path): empty key before \"[\"") }
            steps.append(.key(String(key)))
            rest = rest.dropFirst(key.count)
            while !rest.isEmpty {
                guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                    throw EditError(message: "\(path): expected [index] or [name] after \"\(key)\"")
                }
                let inside = rest[rest.index(after: rest.startIndex)..<close]
                if inside == "+" {
                    steps.append(.append)
                } else if let index = Int(inside) {
                    steps.append(.index(index))
                } else if !inside.isEmpty {
                    steps.append(.named(String(inside)))
                } else {
                    throw EditError(message: "\(path): empty []")
                }
                rest = rest[rest.index(after: close)...]
            }
            guard steps.count <= ConfigText.maxDepth else {
                throw EditError(message: "\(path.prefix(80))…: a path is at most \(ConfigText.maxDepth) keys and elements deep")
            }
        }
        return steps
    }

    static func child(_ node: Node, _ step: Step, path: String) throws(EditError) -> Node? {
        switch step {
        case .key(let key):
            guard let mapping = node.mapping else { throw EditError(message: "\(path): \"\(key)\" is inside a value that is not a mapping") }
            return mapping[key]
        case .index(let index):
            guard let sequence = node.sequence else { throw EditError(message: "\(path): [\(index)] applies to a list") }
            return index >= 0 && index < sequence.count ? sequence[index] : nil
        case .named(let name):
            guard let sequence = node.sequence else { throw EditError(message: "\(path): [\(name)] applies to a list") }
            return sequence.first { $0.mapping?["name"]?.string == name }
        case .append:
            return nil
        }
    }

    /// `node` with the value at `steps` replaced (nil removes it).
    static func replacing(_ node: Node, steps: ArraySlice<Step>, with value: Node?, path: String) throws(EditError) -> Node {
        guard let step = steps.first else { return value ?? node }
        let rest = steps.dropFirst()
        /// An empty container for a missing level: a list when the next step indexes one.
        func fresh() -> Node {
            switch rest.first {
            case .index?, .named?, .append?: return Node.sequence(Node.Sequence())
            default: return Node.mapping(Node.Mapping())
            }
        }
        switch step {
        case .key(let key):
            guard var mapping = node.mapping else { throw EditError(message: "\(path): \"\(key)\" is inside a value that is not a mapping") }
            if rest.isEmpty {
                mapping[key] = value
            } else {
                let current = mapping[key] ?? fresh()
                mapping[key] = try replacing(current, steps: rest, with: value, path: path)
            }
            return .mapping(mapping)
        case .index, .named, .append:
            guard var sequence = node.sequence else { throw EditError(message: "\(path): a list index applies to a list") }
            var position: Int?
            switch step {
            case .index(let index): position = index >= 0 && index < sequence.count ? index : nil
            case .named(let name): position = sequence.firstIndex { $0.mapping?["name"]?.string == name }
            default: position = nil
            }
            if let position {
                if rest.isEmpty, value == nil {
                    sequence.remove(at: position)
                } else {
                    sequence[position] = try replacing(sequence[position], steps: rest, with: value, path: path)
                }
            } else if step == .append || (step == .index(sequence.count)) {
                guard let value else { throw EditError(message: "\(path) is not set") }
                sequence.append(try replacing(fresh(), steps: rest, with: value, path: path))
            } else {
                let names = sequence.compactMap { $0.mapping?["name"]?.string }
                let hint = names.isEmpty ? "\(sequence.count) element(s)" : "names: \(names.joined(separator: ", "))"
                throw EditError(message: "\(path): no such list element (\(hint); [+] appends)")
            }
            return .sequence(sequence)
        }
    }
}
