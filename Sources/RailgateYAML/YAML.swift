import CYAML

/// YAML read and written through libyaml (the distribution's library: its
/// parser's events are composed here into `Node`s, nodes are written back as
/// events to its emitter).
///
/// Composing is bounded, because a configuration comes from a technician's
/// editor, a console `load` or an upgrade, and none of them may stop the
/// gateway: collections nest at most `maxDepth` deep (the composer stops at
/// the first level past it, before libyaml reads further), aliases expand to
/// at most `maxNodes` nodes (counted, never copied: a 2 KB "billion laughs"
/// is refused at once), a key is a single value (never an alias or a
/// collection), and a key repeated in a mapping is an error naming both lines.
public enum YAML {
    /// What is wrong, and the 1-based line where it is when known.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var line: Int?
        public var message: String

        public init(line: Int? = nil, _ message: String) {
            self.line = line
            self.message = message
        }

        public var description: String { line.map { "line \($0): \(message)" } ?? message }
    }

    /// The node of the one document in `text`, or nil when it holds none (empty, or only comments).
    public static func compose(_ text: String, maxDepth: Int, maxNodes: Int) throws(Problem) -> Node? {
        var text = text
        return try text.withUTF8 { bytes in Result { () throws(Problem) in try compose(bytes, maxDepth: maxDepth, maxNodes: maxNodes) } }.get()
    }

    private static func compose(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, maxNodes: Int) throws(Problem) -> Node? {
        // No bytes, no document (and no address for libyaml to keep).
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return nil }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw Problem("YAML: the parser could not start (out of memory)") }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, base, bytes.count)
        var composer = Composer(maxDepth: maxDepth, maxNodes: maxNodes)
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { throw problem(of: &parser, in: bytes) }
            defer { yaml_event_delete(&event) }
            if event.type == YAML_STREAM_END_EVENT { break }
            try composer.take(&event)
        }
        return composer.root
    }

    /// `node` as block YAML text (every collection in block style, one key or item per line;
    /// scalars quoted as they were; lines never folded), as the console shows a configuration.
    public static func serialize(_ node: Node) -> String {
        var emitter = yaml_emitter_t()
        guard yaml_emitter_initialize(&emitter) == 1 else { return "" }
        defer { yaml_emitter_delete(&emitter) }
        let output = Output()
        yaml_emitter_set_output(&emitter, { context, buffer, size in
            guard let context, let buffer else { return 0 }
            Unmanaged<Output>.fromOpaque(context).takeUnretainedValue().bytes.append(contentsOf: UnsafeBufferPointer(start: buffer, count: size))
            return 1
        }, Unmanaged.passUnretained(output).toOpaque())
        yaml_emitter_set_encoding(&emitter, YAML_UTF8_ENCODING)
        yaml_emitter_set_unicode(&emitter, 1)
        yaml_emitter_set_width(&emitter, -1)
        yaml_emitter_set_indent(&emitter, 2)
        yaml_emitter_set_break(&emitter, YAML_LN_BREAK)
        var writer = Writer(emitter: &emitter)
        let written = writer.stream(node)
        return withExtendedLifetime(output) { written ? String(decoding: output.bytes, as: UTF8.self) : "" }
    }

    private static func problem(of parser: inout yaml_parser_t, in bytes: UnsafeBufferPointer<UInt8>) -> Problem {
        let what = parser.problem.map { String(cString: $0) } ?? "unknown error"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return Problem("YAML: out of memory")
        case YAML_READER_ERROR:
            let offset = min(parser.problem_offset, bytes.count)
            let line = bytes[..<offset].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            return Problem(line: line, "YAML: \(what)")
        default:
            return Problem(line: parser.problem_mark.line + 1, "YAML syntax: \(what)")
        }
    }
}

/// Builds nodes from parser events with an explicit stack (no recursion per level).
private struct Composer {
    let maxDepth: Int
    let maxNodes: Int
    private(set) var root: Node?
    private var documents = 0
    private var stack: [Frame] = []
    /// Each anchor's node and the number of nodes it stands for.
    private var anchors: [String: (node: Node, size: Int)] = [:]

    private struct Frame {
        enum Content {
            case mapping(Node.Mapping, key: Node?, keyLines: [String: Int])
            case sequence(Node.Sequence)
        }
        var content: Content
        var anchor: String?
        /// Nodes below this one, aliases counted as what they stand for.
        var size = 0
    }

    init(maxDepth: Int, maxNodes: Int) {
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }

    mutating func take(_ event: inout yaml_event_t) throws(YAML.Problem) {
        let line = event.start_mark.line + 1
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            guard documents == 1 else { throw YAML.Problem(line: line, "a configuration is one YAML document; another starts here") }
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let text = data.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: data.length), as: UTF8.self) } ?? ""
            let style = Node.Scalar.Style(rawValue: data.style.rawValue) ?? .any
            let node = Node.scalar(Node.Scalar(text, style: style, line: line))
            try add(node, size: 1, line: line, anchor: Self.name(data.anchor))
        case YAML_ALIAS_EVENT:
            let name = Self.name(event.data.alias.anchor) ?? ""
            if case .mapping(_, key: nil, _)? = stack.last?.content {
                throw YAML.Problem(line: line, "an alias may not be a mapping key")
            }
            guard let anchored = anchors[name] else {
                throw YAML.Problem(line: line, "alias *\(name) names no anchor defined before it")
            }
            try add(anchored.node, size: anchored.size, line: line, anchor: nil)
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            if case .mapping(_, key: nil, _)? = stack.last?.content {
                throw YAML.Problem(line: line, "a list or mapping may not be a mapping key")
            }
            guard stack.count < maxDepth else { throw YAML.Problem(line: line, "YAML nested deeper than \(maxDepth) levels") }
            if event.type == YAML_SEQUENCE_START_EVENT {
                stack.append(Frame(content: .sequence(Node.Sequence([], line: line)), anchor: Self.name(event.data.sequence_start.anchor)))
            } else {
                stack.append(Frame(content: .mapping(Node.Mapping([], line: line), key: nil, keyLines: [:]),
                                   anchor: Self.name(event.data.mapping_start.anchor)))
            }
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return }
            switch frame.content {
            case .sequence(let sequence):
                try add(.sequence(sequence), size: frame.size + 1, line: line, anchor: frame.anchor)
            case .mapping(let mapping, _, _):
                try add(.mapping(mapping), size: frame.size + 1, line: line, anchor: frame.anchor)
            }
        default:
            break
        }
    }

    /// Places a finished node in the collection being built, or makes it the root.
    private mutating func add(_ node: Node, size: Int, line: Int, anchor: String?) throws(YAML.Problem) {
        if let anchor { anchors[anchor] = (node, size) }
        guard var frame = stack.popLast() else {
            root = node
            return
        }
        let (total, overflow) = frame.size.addingReportingOverflow(size)
        guard !overflow, total <= maxNodes else {
            throw YAML.Problem("the YAML expands to more than \(maxNodes) nodes (aliases of aliases?)")
        }
        frame.size = total
        switch frame.content {
        case .sequence(var sequence):
            frame.content = .sequence(Node.Sequence())  // let go of the reference: append in place
            sequence.append(node)
            frame.content = .sequence(sequence)
        case .mapping(var mapping, let key, var keyLines):
            frame.content = .sequence(Node.Sequence())
            if let key {
                mapping.append(key: key, value: node)
                frame.content = .mapping(mapping, key: nil, keyLines: keyLines)
            } else {
                // The key: a scalar here (aliases and collections were refused when they started).
                let name = node.string ?? ""
                if let first = keyLines[name] {
                    throw YAML.Problem(line: node.line ?? line, "duplicate key \"\(name)\" (first at line \(first))")
                }
                keyLines[name] = node.line ?? line
                frame.content = .mapping(mapping, key: node, keyLines: keyLines)
            }
        }
        stack.append(frame)
    }

    private static func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        anchor.map { String(cString: $0) }
    }
}

/// Collects the emitter's output.
private final class Output {
    var bytes: [UInt8] = []
}

/// Writes nodes as emitter events. Nesting is bounded by the composer (every node comes from it
/// or from a console path, which `CandidateConfig` bounds), so a level is a call.
private struct Writer {
    let emitter: UnsafeMutablePointer<yaml_emitter_t>

    init(emitter: UnsafeMutablePointer<yaml_emitter_t>) {
        self.emitter = emitter
    }

    mutating func stream(_ node: Node) -> Bool {
        var event = yaml_event_t()
        guard yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING) == 1, emit(&event),
              yaml_document_start_event_initialize(&event, nil, nil, nil, 1) == 1, emit(&event),
              write(node),
              yaml_document_end_event_initialize(&event, 1) == 1, emit(&event),
              yaml_stream_end_event_initialize(&event) == 1, emit(&event) else { return false }
        return true
    }

    private func emit(_ event: inout yaml_event_t) -> Bool {
        yaml_emitter_emit(emitter, &event) == 1
    }

    private func write(_ node: Node) -> Bool {
        var event = yaml_event_t()
        switch node {
        case .scalar(let scalar):
            var bytes = Array(scalar.string.utf8)
            guard bytes.count < Int32.max else { return false }
            let length = Int32(bytes.count)
            bytes.append(0)
            let ok = bytes.withUnsafeBufferPointer { value in
                yaml_scalar_event_initialize(&event, nil, nil, value.baseAddress, length, 1, 1,
                                             yaml_scalar_style_t(rawValue: scalar.style.rawValue)) == 1
            }
            return ok && emit(&event)
        case .sequence(let sequence):
            guard yaml_sequence_start_event_initialize(&event, nil, nil, 1, YAML_BLOCK_SEQUENCE_STYLE) == 1,
                  emit(&event) else { return false }
            for item in sequence.items where !write(item) { return false }
            return yaml_sequence_end_event_initialize(&event) == 1 && emit(&event)
        case .mapping(let mapping):
            guard yaml_mapping_start_event_initialize(&event, nil, nil, 1, YAML_BLOCK_MAPPING_STYLE) == 1,
                  emit(&event) else { return false }
            for (key, value) in mapping where !write(key) || !write(value) { return false }
            return yaml_mapping_end_event_initialize(&event) == 1 && emit(&event)
        }
    }
}
