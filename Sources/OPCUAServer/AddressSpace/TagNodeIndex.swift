import RailgateCore

/// Finds the tag a request names straight from the request's bytes: the tag variables' string
/// NodeIds in one open-addressing table hashed over their UTF-8 (FNV-1a, 64 bit), so a Read
/// of a thousand tags builds no `String` and hashes each identifier once. Built with the
/// address space, immutable afterwards.
struct TagNodeIndex: Sendable {
    /// Every indexed identifier's UTF-8, one after the other; tag `i`'s is
    /// `utf8[starts[i]..<starts[i + 1]]` (empty for a tag without a string NodeId).
    private let utf8: [UInt8]
    private let starts: [Int]
    private let namespaces: [UInt16]
    /// Tag index + 1 per slot, 0 for an empty one; a power of two, at most half full.
    private let slots: [Int32]
    /// The built-in type each tag's Value has (Double for scaled tags).
    let types: [BuiltinType]

    /// `tagNodes[i]` is the NodeId of tag `i`'s variable; the null NodeId (a tag without a
    /// variable) and non-string NodeIds are left out — requests naming them take the general path.
    init(tagNodes: [NodeId], tags: [Tag]) {
        var utf8: [UInt8] = []
        var starts = [0]
        var namespaces: [UInt16] = []
        starts.reserveCapacity(tagNodes.count + 1)
        for id in tagNodes {
            if case .string(let text) = id.identifier { utf8.append(contentsOf: text.utf8) }
            starts.append(utf8.count)
            namespaces.append(id.namespace)
        }
        var capacity = 16
        while capacity < 2 * tagNodes.count { capacity *= 2 }
        var slots = [Int32](repeating: 0, count: capacity)
        for (tag, id) in tagNodes.enumerated() {
            guard case .string = id.identifier, tag < Int(Int32.max) else { continue }
            let hash = utf8.withUnsafeBufferPointer {
                Self.hash(id.namespace, UnsafeBufferPointer(rebasing: $0[starts[tag]..<starts[tag + 1]]))
            }
            var slot = Int(truncatingIfNeeded: hash) & (capacity - 1)
            while slots[slot] != 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = Int32(tag + 1)
        }
        self.utf8 = utf8
        self.starts = starts
        self.namespaces = namespaces
        self.slots = slots
        // A tag's DataType node (namespace 0, i=1…12) has its built-in type's number.
        types = tags.map { tag in
            guard case .numeric(let id) = TagValue.dataType(of: tag).identifier,
                  let type = BuiltinType(rawValue: UInt8(truncatingIfNeeded: id)) else { return .double }
            return type
        }
    }

    /// The tag whose variable is `ns=namespace;s=<identifier>`, or nil.
    func tag(namespace: UInt16, identifier: UnsafeBufferPointer<UInt8>) -> Int? {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: Self.hash(namespace, identifier)) & mask
        // At most half the slots are taken: an empty one ends every probe.
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return nil }
            let tag = entry - 1
            if namespaces[tag] == namespace, starts[tag + 1] - starts[tag] == identifier.count {
                let start = starts[tag]
                let same = utf8.withUnsafeBufferPointer { stored in
                    var i = 0
                    while i < identifier.count && stored[start + i] == identifier[i] { i += 1 }
                    return i == identifier.count
                }
                if same { return tag }
            }
            slot = (slot + 1) & mask
        }
    }

    /// The tag whose variable is `id`, or nil.
    func tag(of id: NodeId) -> Int? {
        guard case .string(var text) = id.identifier else { return nil }
        return text.withUTF8 { tag(namespace: id.namespace, identifier: $0) }
    }

    private static func hash(_ namespace: UInt16, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(namespace)
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
