import RailgateCore

/// What the Server object reports about itself.
public struct ServerIdentity: Sendable {
    public var applicationUri: String
    public var productUri: String
    public var productName: String
    public var softwareVersion: String
    public var startTime: UADateTime
    public var maxNodesPerRequest: UInt32
    public var maxMonitoredItemsPerCall: UInt32
    public var maxBrowseContinuationPoints: UInt16
    /// The most values a HistoryRead returns per node; 0: no history is kept.
    public var maxHistoryValues: UInt32 = 0

    public init(applicationUri: String, productUri: String, productName: String, softwareVersion: String,
                startTime: UADateTime, maxNodesPerRequest: UInt32, maxMonitoredItemsPerCall: UInt32,
                maxBrowseContinuationPoints: UInt16) {
        self.applicationUri = applicationUri
        self.productUri = productUri
        self.productName = productName
        self.softwareVersion = softwareVersion
        self.startTime = startTime
        self.maxNodesPerRequest = maxNodesPerRequest
        self.maxMonitoredItemsPerCall = maxMonitoredItemsPerCall
        self.maxBrowseContinuationPoints = maxBrowseContinuationPoints
    }
}

extension AddressSpaceBuilder {
    /// The part of namespace 0 clients rely on: the standard folders, the
    /// reference, object, variable and data type hierarchies Railgate uses,
    /// and the Server object with status, namespaces and capabilities.
    /// - Parameter notifiers: objects whose events clients may subscribe to besides the Server
    ///   object's (the field devices); the Server object is their notifier.
    mutating func addNamespace0(identity: ServerIdentity, objects: [NodeId], notifiers: [NodeId] = []) {
        let typesNamespace = UInt16(namespaces.count)
        namespaces.append(RailgateEventTypes.namespaceUri)
        folder(UAIds.rootFolder, "Root", children: [UAIds.objectsFolder, UAIds.typesFolder, UAIds.viewsFolder])
        folder(UAIds.objectsFolder, "Objects", children: [UAIds.server] + objects)
        folder(UAIds.typesFolder, "Types", children: [UAIds.objectTypesFolder, UAIds.variableTypesFolder,
                                                      UAIds.dataTypesFolder, UAIds.referenceTypesFolder])
        folder(UAIds.viewsFolder, "Views")
        folder(UAIds.objectTypesFolder, "ObjectTypes", children: [UAIds.baseObjectType])
        folder(UAIds.variableTypesFolder, "VariableTypes", children: [UAIds.baseVariableType])
        folder(UAIds.dataTypesFolder, "DataTypes", children: [UAIds.baseDataType])
        folder(UAIds.referenceTypesFolder, "ReferenceTypes", children: [UAIds.references])

        // Reference types (Part 5 §11).
        referenceType(UAIds.references, "References", inverse: nil,
                      subtypes: [UAIds.hierarchicalReferences, UAIds.nonHierarchicalReferences], isAbstract: true, symmetric: true)
        referenceType(UAIds.hierarchicalReferences, "HierarchicalReferences", inverse: "InverseHierarchicalReferences",
                      subtypes: [UAIds.hasChild, UAIds.organizes, UAIds.hasEventSource], isAbstract: true)
        referenceType(UAIds.nonHierarchicalReferences, "NonHierarchicalReferences", inverse: nil,
                      subtypes: [UAIds.hasTypeDefinition], isAbstract: true, symmetric: true)
        referenceType(UAIds.hasChild, "HasChild", inverse: "ChildOf", subtypes: [UAIds.aggregates, UAIds.hasSubtype],
                      isAbstract: true)
        referenceType(UAIds.aggregates, "Aggregates", inverse: "AggregatedBy",
                      subtypes: [UAIds.hasComponent, UAIds.hasProperty], isAbstract: true)
        referenceType(UAIds.hasComponent, "HasComponent", inverse: "ComponentOf")
        referenceType(UAIds.hasProperty, "HasProperty", inverse: "PropertyOf")
        referenceType(UAIds.hasSubtype, "HasSubtype", inverse: "SubtypeOf")
        referenceType(UAIds.organizes, "Organizes", inverse: "OrganizedBy")
        referenceType(UAIds.hasEventSource, "HasEventSource", inverse: "EventSourceOf", subtypes: [UAIds.hasNotifier])
        referenceType(UAIds.hasNotifier, "HasNotifier", inverse: "NotifierOf")
        referenceType(UAIds.hasTypeDefinition, "HasTypeDefinition", inverse: "TypeDefinitionOf")

        // Object and variable types.
        type(UAIds.baseObjectType, "BaseObjectType", .objectType, subtypes: [UAIds.folderType, UAIds.serverType,
             UAIds.serverCapabilitiesType, UAIds.operationLimitsType, UAIds.historyServerCapabilitiesType,
             UAIds.baseEventType])
        addEventTypes(typesNamespace: typesNamespace)
        addConditionTypes()
        type(UAIds.historyServerCapabilitiesType, "HistoryServerCapabilitiesType", .objectType)
        type(UAIds.folderType, "FolderType", .objectType)
        type(UAIds.serverType, "ServerType", .objectType)
        type(UAIds.serverCapabilitiesType, "ServerCapabilitiesType", .objectType)
        type(UAIds.operationLimitsType, "OperationLimitsType", .objectType)
        type(UAIds.baseVariableType, "BaseVariableType", .variableType,
             subtypes: [UAIds.baseDataVariableType, UAIds.propertyType], isAbstract: true, dataType: UAIds.baseDataType)
        type(UAIds.baseDataVariableType, "BaseDataVariableType", .variableType,
             subtypes: [UAIds.dataItemType, UAIds.serverStatusType, UAIds.buildInfoType], dataType: UAIds.baseDataType)
        type(UAIds.propertyType, "PropertyType", .variableType, dataType: UAIds.baseDataType)
        type(UAIds.dataItemType, "DataItemType", .variableType, subtypes: [UAIds.analogItemType, UAIds.discreteItemType],
             dataType: UAIds.baseDataType)
        type(UAIds.discreteItemType, "DiscreteItemType", .variableType, subtypes: [UAIds.multiStateValueDiscreteType],
             isAbstract: true, dataType: UAIds.baseDataType)
        type(UAIds.multiStateValueDiscreteType, "MultiStateValueDiscreteType", .variableType, dataType: UAIds.number)
        type(UAIds.analogItemType, "AnalogItemType", .variableType, dataType: UAIds.number)
        type(UAIds.serverStatusType, "ServerStatusType", .variableType, dataType: UAIds.serverStatusDataType)
        type(UAIds.buildInfoType, "BuildInfoType", .variableType, dataType: UAIds.buildInfo)

        // Data types (Part 5 §12, Part 3 §8).
        type(UAIds.baseDataType, "BaseDataType", .dataType, subtypes: [UAIds.boolean, UAIds.number, UAIds.string,
             UAIds.dateTime, UAIds.guid, UAIds.byteString, UAIds.nodeId, UAIds.localizedText, UAIds.qualifiedName,
             UAIds.statusCode, UAIds.structure, UAIds.enumeration], isAbstract: true)
        type(UAIds.number, "Number", .dataType, subtypes: [UAIds.integer, UAIds.uInteger, UAIds.float, UAIds.double],
             isAbstract: true)
        type(UAIds.integer, "Integer", .dataType, subtypes: [UAIds.sByte, UAIds.int16, UAIds.int32, UAIds.int64],
             isAbstract: true)
        type(UAIds.uInteger, "UInteger", .dataType, subtypes: [UAIds.byte, UAIds.uInt16, UAIds.uInt32, UAIds.uInt64],
             isAbstract: true)
        for (id, name) in [(UAIds.boolean, "Boolean"), (UAIds.sByte, "SByte"), (UAIds.byte, "Byte"),
                           (UAIds.int16, "Int16"), (UAIds.uInt16, "UInt16"), (UAIds.int32, "Int32"),
                           (UAIds.uInt32, "UInt32"), (UAIds.int64, "Int64"), (UAIds.uInt64, "UInt64"),
                           (UAIds.float, "Float"), (UAIds.string, "String"),
                           (UAIds.guid, "Guid"), (UAIds.byteString, "ByteString"), (UAIds.nodeId, "NodeId"),
                           (UAIds.localizedText, "LocalizedText"), (UAIds.qualifiedName, "QualifiedName"),
                           (UAIds.statusCode, "StatusCode")] {
            type(id, name, .dataType)
        }
        type(UAIds.double, "Double", .dataType, subtypes: [UAIds.duration])
        type(UAIds.duration, "Duration", .dataType)
        type(UAIds.dateTime, "DateTime", .dataType, subtypes: [UAIds.utcTime])
        type(UAIds.utcTime, "UtcTime", .dataType)
        type(UAIds.structure, "Structure", .dataType, subtypes: [UAIds.euInformation, UAIds.range,
             UAIds.serverStatusDataType, UAIds.buildInfo, UAIds.enumValueType], isAbstract: true)
        type(UAIds.enumValueType, "EnumValueType", .dataType)
        type(UAIds.euInformation, "EUInformation", .dataType)
        type(UAIds.range, "Range", .dataType)
        type(UAIds.serverStatusDataType, "ServerStatusDataType", .dataType)
        type(UAIds.buildInfo, "BuildInfo", .dataType)
        type(UAIds.enumeration, "Enumeration", .dataType, subtypes: [UAIds.serverState], isAbstract: true)
        type(UAIds.serverState, "ServerState", .dataType)

        addServerObject(identity, notifiers: notifiers)
    }

    private mutating func addServerObject(_ identity: ServerIdentity, notifiers: [NodeId]) {
        let namespaces = self.namespaces
        object(UAIds.server, "Server", type: UAIds.serverType, references: [
            UAReference(UAIds.hasProperty, to: UAIds.server_NamespaceArray),
            UAReference(UAIds.hasProperty, to: UAIds.server_ServerArray),
            UAReference(UAIds.hasComponent, to: UAIds.server_ServerStatus),
            UAReference(UAIds.hasProperty, to: UAIds.server_ServiceLevel),
            UAReference(UAIds.hasComponent, to: UAIds.server_ServerCapabilities),
        ] + notifiers.map { UAReference(UAIds.hasNotifier, to: $0) }, eventNotifier: UANode.subscribeToEvents)
        property(UAIds.server_NamespaceArray, "NamespaceArray",
                 .array(type: .string, values: namespaces.map { .string($0) }, dimensions: nil),
                 dataType: UAIds.string, valueRank: 1)
        property(UAIds.server_ServerArray, "ServerArray",
                 .array(type: .string, values: [.string(identity.applicationUri)], dimensions: nil),
                 dataType: UAIds.string, valueRank: 1)
        property(UAIds.server_ServiceLevel, "ServiceLevel", .scalar(.byte(255)), dataType: UAIds.byte)

        let build = BuildInfo(productUri: identity.productUri, manufacturerName: "Railgate",
                              productName: identity.productName, softwareVersion: identity.softwareVersion,
                              buildNumber: identity.softwareVersion, buildDate: identity.startTime)
        let start = identity.startTime
        variable(UAIds.server_ServerStatus, "ServerStatus", value: .computed({
            let status = ServerStatusDataType(startTime: start, currentTime: UADateTime(unixNanoseconds: Clock.realtimeNs()),
                                              state: .running, buildInfo: build)
            return DataValue(value: .scalar(.extensionObject(ExtensionObject(status, encodingId: UAIds.Encoding.serverStatusDataType))))
        }), dataType: UAIds.serverStatusDataType, type: UAIds.serverStatusType, references: [
            UAReference(UAIds.hasComponent, to: UAIds.server_ServerStatus_State),
            UAReference(UAIds.hasComponent, to: UAIds.server_ServerStatus_CurrentTime),
            UAReference(UAIds.hasComponent, to: UAIds.server_ServerStatus_StartTime),
            UAReference(UAIds.hasComponent, to: UAIds.server_ServerStatus_BuildInfo),
        ])
        variable(UAIds.server_ServerStatus_State, "State", value: .constant(.scalar(.int32(ServerState.running.rawValue))),
                 dataType: UAIds.serverState)
        variable(UAIds.server_ServerStatus_CurrentTime, "CurrentTime", value: .computed({
            DataValue(value: .scalar(.dateTime(UADateTime(unixNanoseconds: Clock.realtimeNs()))))
        }), dataType: UAIds.utcTime)
        variable(UAIds.server_ServerStatus_StartTime, "StartTime", value: .constant(.scalar(.dateTime(start))),
                 dataType: UAIds.utcTime)
        variable(UAIds.server_ServerStatus_BuildInfo, "BuildInfo",
                 value: .constant(.scalar(.extensionObject(ExtensionObject(build, encodingId: UAIds.Encoding.buildInfo)))),
                 dataType: UAIds.buildInfo, type: UAIds.buildInfoType)

        object(UAIds.server_ServerCapabilities, "ServerCapabilities", type: UAIds.serverCapabilitiesType, references: [
            UAReference(UAIds.hasProperty, to: UAIds.server_ServerCapabilities_ServerProfileArray),
            UAReference(UAIds.hasProperty, to: UAIds.server_ServerCapabilities_LocaleIdArray),
            UAReference(UAIds.hasProperty, to: UAIds.server_ServerCapabilities_MinSupportedSampleRate),
            UAReference(UAIds.hasProperty, to: UAIds.server_ServerCapabilities_MaxBrowseContinuationPoints),
            UAReference(UAIds.hasComponent, to: UAIds.server_ServerCapabilities_OperationLimits),
            UAReference(UAIds.hasComponent, to: UAIds.historyServerCapabilities),
        ])
        addHistoryCapabilities(identity)
        property(UAIds.server_ServerCapabilities_ServerProfileArray, "ServerProfileArray",
                 .array(type: .string, values: [.string("http://opcfoundation.org/UA-Profile/Server/MicroEmbeddedDevice")],
                        dimensions: nil), dataType: UAIds.string, valueRank: 1)
        property(UAIds.server_ServerCapabilities_LocaleIdArray, "LocaleIdArray",
                 .array(type: .string, values: [.string("en")], dimensions: nil), dataType: UAIds.string, valueRank: 1)
        property(UAIds.server_ServerCapabilities_MinSupportedSampleRate, "MinSupportedSampleRate",
                 .scalar(.double(10)), dataType: UAIds.duration)
        property(UAIds.server_ServerCapabilities_MaxBrowseContinuationPoints, "MaxBrowseContinuationPoints",
                 .scalar(.uInt16(identity.maxBrowseContinuationPoints)), dataType: UAIds.uInt16)
        let limits: [(NodeId, String, UInt32)] = [
            (UAIds.server_ServerCapabilities_OperationLimits_MaxNodesPerRead, "MaxNodesPerRead", identity.maxNodesPerRequest),
            (UAIds.server_ServerCapabilities_OperationLimits_MaxNodesPerWrite, "MaxNodesPerWrite", identity.maxNodesPerRequest),
            (UAIds.server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse, "MaxNodesPerBrowse", identity.maxNodesPerRequest),
            (UAIds.server_ServerCapabilities_OperationLimits_MaxNodesPerRegisterNodes, "MaxNodesPerRegisterNodes",
             identity.maxNodesPerRequest),
            (UAIds.server_ServerCapabilities_OperationLimits_MaxNodesPerTranslateBrowsePathsToNodeIds,
             "MaxNodesPerTranslateBrowsePathsToNodeIds", identity.maxNodesPerRequest),
            (UAIds.server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall, "MaxMonitoredItemsPerCall",
             identity.maxMonitoredItemsPerCall),
        ]
        object(UAIds.server_ServerCapabilities_OperationLimits, "OperationLimits", type: UAIds.operationLimitsType,
               references: limits.map { UAReference(UAIds.hasProperty, to: $0.0) })
        for (id, name, limit) in limits {
            property(id, name, .scalar(.uInt32(limit)), dataType: UAIds.uInt32)
        }
    }

    /// Part 11 §5.4.2: what HistoryRead offers. Raw and at-time reads of historized tags; no
    /// updates, no events from history.
    private mutating func addHistoryCapabilities(_ identity: ServerIdentity) {
        let flags: [(NodeId, String, Bool)] = [
            (UAIds.historyServerCapabilities_AccessHistoryDataCapability, "AccessHistoryDataCapability",
             identity.maxHistoryValues > 0),
            (UAIds.historyServerCapabilities_AccessHistoryEventsCapability, "AccessHistoryEventsCapability", false),
            (UAIds.historyServerCapabilities_InsertDataCapability, "InsertDataCapability", false),
            (UAIds.historyServerCapabilities_ReplaceDataCapability, "ReplaceDataCapability", false),
            (UAIds.historyServerCapabilities_UpdateDataCapability, "UpdateDataCapability", false),
            (UAIds.historyServerCapabilities_DeleteRawCapability, "DeleteRawCapability", false),
            (UAIds.historyServerCapabilities_DeleteAtTimeCapability, "DeleteAtTimeCapability", false),
        ]
        let counts: [(NodeId, String, UInt32)] = [
            (UAIds.historyServerCapabilities_MaxReturnDataValues, "MaxReturnDataValues", identity.maxHistoryValues),
            (UAIds.historyServerCapabilities_MaxReturnEventValues, "MaxReturnEventValues", 0),
        ]
        object(UAIds.historyServerCapabilities, "HistoryServerCapabilities", type: UAIds.historyServerCapabilitiesType,
               references: (flags.map(\.0) + counts.map(\.0)).map { UAReference(UAIds.hasProperty, to: $0) })
        for (id, name, value) in flags { property(id, name, .scalar(.boolean(value)), dataType: UAIds.boolean) }
        for (id, name, value) in counts { property(id, name, .scalar(.uInt32(value)), dataType: UAIds.uInt32) }
    }
}
