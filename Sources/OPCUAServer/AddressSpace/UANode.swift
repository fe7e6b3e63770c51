import RailgateCore

/// A reference from one node to another (Part 3 §4.3).
public struct UAReference: Hashable, Sendable {
    public var referenceType: NodeId
    public var isForward: Bool
    public var target: NodeId

    public init(_ referenceType: NodeId, to target: NodeId, forward: Bool = true) {
        self.referenceType = referenceType
        self.target = target
        isForward = forward
    }
}

/// Where a variable's value comes from when it is read or sampled.
public enum UAValueSource: Sendable {
    /// A fixed value (properties, configuration facts).
    case constant(Variant)
    /// A tag of the gateway: read from the `TagTable` at request time.
    case tag(Int)
    /// Computed at request time (server status, device statistics).
    case computed(@Sendable () -> DataValue)
}

/// One node of the address space, with the attributes of its node class
/// (Part 3 §5). Nodes are built at start and never change afterwards, so the
/// address space is read without locks.
public final class UANode: Sendable {
    public let nodeId: NodeId
    public let nodeClass: NodeClass
    public let browseName: QualifiedName
    public let displayName: LocalizedText
    public let description: LocalizedText?
    public let references: [UAReference]
    // Variables and variable types.
    public let value: UAValueSource?
    public let dataType: NodeId
    public let valueRank: Int32
    public let accessLevel: UInt8
    public let minimumSamplingInterval: Double
    /// The server keeps this variable's history (HistoryRead serves it).
    public let historizing: Bool
    // Types and reference types.
    public let isAbstract: Bool
    public let symmetric: Bool
    public let inverseName: LocalizedText?
    // Objects.
    public let eventNotifier: UInt8

    /// Part 3 §8.57 AccessLevelType bits.
    public static let currentRead: UInt8 = 0x01
    public static let currentWrite: UInt8 = 0x02
    public static let historyRead: UInt8 = 0x04
    /// Part 3 §8.59 EventNotifierType: clients may subscribe to the object's events.
    public static let subscribeToEvents: UInt8 = 0x01

    public init(_ nodeId: NodeId, _ nodeClass: NodeClass, browseName: QualifiedName, displayName: LocalizedText? = nil,
                description: LocalizedText? = nil, references: [UAReference] = [], value: UAValueSource? = nil,
                dataType: NodeId = .null, valueRank: Int32 = -1, accessLevel: UInt8 = UANode.currentRead,
                minimumSamplingInterval: Double = 0, historizing: Bool = false, isAbstract: Bool = false, symmetric: Bool = false,
                inverseName: LocalizedText? = nil, eventNotifier: UInt8 = 0) {
        self.nodeId = nodeId
        self.nodeClass = nodeClass
        self.browseName = browseName
        self.displayName = displayName ?? LocalizedText(browseName.name)
        self.description = description
        self.references = references
        self.value = value
        self.dataType = dataType
        self.valueRank = valueRank
        self.accessLevel = accessLevel
        self.minimumSamplingInterval = minimumSamplingInterval
        self.historizing = historizing
        self.isAbstract = isAbstract
        self.symmetric = symmetric
        self.inverseName = inverseName
        self.eventNotifier = eventNotifier
    }

    /// The target of the first forward HasTypeDefinition reference.
    public var typeDefinition: NodeId? {
        references.first { $0.isForward && $0.referenceType == UAIds.hasTypeDefinition }?.target
    }
}
