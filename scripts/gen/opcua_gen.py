#!/usr/bin/env python3
"""Generates Railgate's OPC UA Swift code from the specification's own
machine-readable files (../shared/opcua): Opc.Ua.Types.bsd (structures and
enumerations with their binary encoding), NodeIds.csv and StatusCode.csv.

    python3 scripts/gen/opcua_gen.py [SHARED_OPCUA_DIR]

Writes Sources/OPCUAServer/Encoding/Generated/*.swift. The output is
committed; the build never reads the specification files."""

import csv
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "opcua"
OUT = ROOT / "Sources" / "OPCUAServer" / "Encoding" / "Generated"
NS = {"opc": "http://opcfoundation.org/BinarySchema/"}

# The service messages Railgate implements, and structures it builds or reads.
ROOTS = """
GetEndpointsRequest GetEndpointsResponse FindServersRequest FindServersResponse
OpenSecureChannelRequest OpenSecureChannelResponse CloseSecureChannelRequest CloseSecureChannelResponse
CreateSessionRequest CreateSessionResponse ActivateSessionRequest ActivateSessionResponse
CloseSessionRequest CloseSessionResponse CancelRequest CancelResponse ServiceFault
BrowseRequest BrowseResponse BrowseNextRequest BrowseNextResponse
TranslateBrowsePathsToNodeIdsRequest TranslateBrowsePathsToNodeIdsResponse
RegisterNodesRequest RegisterNodesResponse UnregisterNodesRequest UnregisterNodesResponse
ReadRequest ReadResponse WriteRequest WriteResponse
CreateSubscriptionRequest CreateSubscriptionResponse ModifySubscriptionRequest ModifySubscriptionResponse
DeleteSubscriptionsRequest DeleteSubscriptionsResponse SetPublishingModeRequest SetPublishingModeResponse
CreateMonitoredItemsRequest CreateMonitoredItemsResponse ModifyMonitoredItemsRequest ModifyMonitoredItemsResponse
DeleteMonitoredItemsRequest DeleteMonitoredItemsResponse SetMonitoringModeRequest SetMonitoringModeResponse
PublishRequest PublishResponse RepublishRequest RepublishResponse
AnonymousIdentityToken UserNameIdentityToken X509IdentityToken IssuedIdentityToken
DataChangeFilter DataChangeNotification StatusChangeNotification NotificationMessage
EUInformation Range ServerStatusDataType BuildInfo EnumValueType
HistoryReadRequest HistoryReadResponse ReadRawModifiedDetails ReadAtTimeDetails ReadProcessedDetails ReadEventDetails
HistoryData
EventFilter EventFilterResult SimpleAttributeOperand LiteralOperand ElementOperand AttributeOperand
EventNotificationList CallRequest CallResponse Argument
""".split()

# Binary-schema type → (Swift type, read expression, write statement, default).
BUILTINS = {
    "opc:Boolean": ("Bool", "try r.readBoolean()", "w.writeBoolean({v})", "false"),
    "opc:SByte": ("Int8", "try r.readSByte()", "w.writeSByte({v})", "0"),
    "opc:Byte": ("UInt8", "try r.readByte()", "w.writeByte({v})", "0"),
    "opc:Int16": ("Int16", "try r.readInt16()", "w.writeInt16({v})", "0"),
    "opc:UInt16": ("UInt16", "try r.readUInt16()", "w.writeUInt16({v})", "0"),
    "opc:Int32": ("Int32", "try r.readInt32()", "w.writeInt32({v})", "0"),
    "opc:UInt32": ("UInt32", "try r.readUInt32()", "w.writeUInt32({v})", "0"),
    "opc:Int64": ("Int64", "try r.readInt64()", "w.writeInt64({v})", "0"),
    "opc:UInt64": ("UInt64", "try r.readUInt64()", "w.writeUInt64({v})", "0"),
    "opc:Float": ("Float", "try r.readFloat()", "w.writeFloat({v})", "0"),
    "opc:Double": ("Double", "try r.readDouble()", "w.writeDouble({v})", "0"),
    "opc:String": ("String?", "try r.readString()", "w.writeString({v})", "nil"),
    "opc:CharArray": ("String?", "try r.readString()", "w.writeString({v})", "nil"),
    "opc:ByteString": ("[UInt8]?", "try r.readByteString()", "w.writeByteString({v})", "nil"),
    "ua:XmlElement": ("[UInt8]?", "try r.readByteString()", "w.writeByteString({v})", "nil"),
}
CODABLE = {
    "opc:DateTime": ("UADateTime", ".null"), "opc:Guid": ("UAGuid", "UAGuid(data1: 0, data2: 0, data3: 0, data4: [0, 0, 0, 0, 0, 0, 0, 0])"),
    "ua:NodeId": ("NodeId", ".null"), "ua:ExpandedNodeId": ("ExpandedNodeId", ".null"),
    "ua:StatusCode": ("StatusCode", "StatusCode(rawValue: 0)"), "ua:QualifiedName": ("QualifiedName", ".null"),
    "ua:LocalizedText": ("LocalizedText", ".null"), "ua:ExtensionObject": ("ExtensionObject", ".null"),
    "ua:DataValue": ("DataValue", "DataValue()"), "ua:Variant": ("Variant", ".empty"),
    "ua:DiagnosticInfo": ("DiagnosticInfo", ".empty"),
}
SWIFT_KEYWORDS = {"protocol", "default", "operator", "class", "struct", "enum", "func", "var", "let", "in",
                  "is", "as", "self", "Type", "internal", "public", "private", "where", "return", "extension",
                  "init", "repeat", "switch", "case"}


def lower_camel(name):
    m = re.match(r"^([A-Z]+)(?=[A-Z][a-z]|$|[0-9_])", name)
    if m and len(m.group(1)) > 1:
        head = m.group(1)
        name = head.lower() + name[len(head):] if len(head) == len(name) or not name[len(head)].islower() \
            else head[:-1].lower() + name[len(head) - 1:]
    else:
        name = name[:1].lower() + name[1:]
    name = name.replace("_", "")
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


def load_schema():
    tree = ET.parse(SPEC / "Opc.Ua.Types.bsd").getroot()
    structs, enums = {}, {}
    for node in tree.findall("opc:StructuredType", NS):
        fields = [(f.get("Name"), f.get("TypeName"), f.get("LengthField"), f.get("SwitchField"))
                  for f in node.findall("opc:Field", NS)]
        doc = node.findtext("opc:Documentation", default="", namespaces=NS).strip()
        structs[node.get("Name")] = (fields, doc)
    for node in tree.findall("opc:EnumeratedType", NS):
        values = [(v.get("Name"), int(v.get("Value"))) for v in node.findall("opc:EnumeratedValue", NS)]
        doc = node.findtext("opc:Documentation", default="", namespaces=NS).strip()
        enums[node.get("Name")] = (int(node.get("LengthInBits")), values, doc)
    return structs, enums


def closure(structs, enums):
    """Every structure and enumeration the roots need, in a stable order."""
    needed_structs, needed_enums = [], []
    pending = list(ROOTS)
    while pending:
        name = pending.pop(0)
        if name in needed_structs or name in needed_enums:
            continue
        if name in enums:
            needed_enums.append(name)
            continue
        if name not in structs:
            raise SystemExit(f"opcua_gen: unknown type {name}")
        needed_structs.append(name)
        for field, type_name, _, switch in structs[name][0]:
            if switch is not None:
                raise SystemExit(f"opcua_gen: {name}.{field} has optional fields; write it by hand")
            if type_name.startswith("tns:"):
                pending.append(type_name[4:])
    return sorted(needed_structs), sorted(needed_enums)


def field_code(type_name):
    """(Swift type, read expression, write format, default) of one value."""
    if type_name in BUILTINS:
        return BUILTINS[type_name]
    if type_name in CODABLE:
        swift, default = CODABLE[type_name]
        return swift, f"try {swift}(from: &r)", "{v}.encode(to: &w)", default
    if type_name.startswith("tns:"):
        swift = type_name[4:]
        return swift, f"try {swift}(from: &r)", "{v}.encode(to: &w)", None
    raise SystemExit(f"opcua_gen: no mapping for {type_name}")


def generate_types(structs, enums, names, enum_names):
    out = [HEADER, "// Structures and enumerations of Opc.Ua.Types.bsd used by Railgate's services.", ""]
    for name in enum_names:
        bits, values, doc = enums[name]
        out.append(f"/// {doc}" if doc else f"/// {name} (Opc.Ua.Types.bsd).")
        out.append(f"public struct {name}: RawRepresentable, Hashable, Sendable, UACodable {{")
        out.append("    public var rawValue: Int32")
        out.append("    public init(rawValue: Int32) { self.rawValue = rawValue }")
        for value_name, value in values:
            out.append(f"    public static let {lower_camel(value_name)} = {name}(rawValue: {value})")
        out.append("    public init(from r: inout UAReader) throws(UADecodingError) { rawValue = try r.readInt32() }")
        out.append("    public func encode(to w: inout UAWriter) { w.writeInt32(rawValue) }")
        out.append("}")
        out.append("")
    for name in names:
        fields, doc = structs[name]
        length_fields = {f[2] for f in fields if f[2]}
        members = []
        for field, type_name, length, _ in fields:
            if field in length_fields:
                continue
            swift, read, write, default = field_code(type_name)
            if default is None:
                default = f"{swift}(rawValue: 0)" if type_name[4:] in enums else f"{swift}()"
            if length:
                members.append((lower_camel(field), f"[{swift}]", "[]", read, write, True))
            else:
                members.append((lower_camel(field), swift, default, read, write, False))
        out.append(f"/// {doc}" if doc else f"/// {name} (Opc.Ua.Types.bsd).")
        out.append(f"public struct {name}: Hashable, Sendable, UACodable {{")
        for member, swift, default, *_ in members:
            out.append(f"    public var {member}: {swift}")
        params = ", ".join(f"{m.strip('`')}: {s} = {d}" for m, s, d, *_ in members)
        out.append("")
        out.append(f"    public init({params}) {{")
        for member, *_ in members:
            out.append(f"        self.{member} = {member.strip('`')}")
        out.append("    }")
        out.append("")
        out.append("    public init(from r: inout UAReader) throws(UADecodingError) {")
        for member, swift, _, read, _, is_array in members:
            if is_array:
                out.append(f"        {member} = try r.readArray {{ (r: inout UAReader) throws(UADecodingError) in {read} }}")
            else:
                out.append(f"        {member} = {read}")
        out.append("    }")
        out.append("")
        out.append("    public func encode(to w: inout UAWriter) {")
        for member, swift, _, _, write, is_array in members:
            if is_array:
                out.append(f"        w.writeArray({member}) {{ w, v in {write.format(v='v')} }}")
            else:
                out.append(f"        {write.format(v=member)}")
        out.append("    }")
        out.append("}")
        out.append("")
    return "\n".join(out)


# Nodes of namespace 0 the address space and services name.
NODES = """
RootFolder ObjectsFolder TypesFolder ViewsFolder ObjectTypesFolder VariableTypesFolder DataTypesFolder
ReferenceTypesFolder Server Server_ServerStatus Server_ServerStatus_State Server_ServerStatus_CurrentTime
Server_ServerStatus_StartTime Server_ServerStatus_BuildInfo Server_NamespaceArray Server_ServerArray
Server_ServiceLevel Server_ServerCapabilities Server_ServerCapabilities_OperationLimits
Server_ServerCapabilities_ServerProfileArray Server_ServerCapabilities_LocaleIdArray
Server_ServerCapabilities_MinSupportedSampleRate Server_ServerCapabilities_MaxBrowseContinuationPoints
Server_ServerCapabilities_OperationLimits_MaxNodesPerRead Server_ServerCapabilities_OperationLimits_MaxNodesPerWrite
Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse
Server_ServerCapabilities_OperationLimits_MaxNodesPerRegisterNodes
Server_ServerCapabilities_OperationLimits_MaxNodesPerTranslateBrowsePathsToNodeIds
Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall
References HierarchicalReferences NonHierarchicalReferences HasChild Organizes HasComponent HasProperty
HasTypeDefinition HasSubtype Aggregates HasEventSource HasNotifier
BaseObjectType FolderType BaseVariableType BaseDataVariableType PropertyType DataItemType AnalogItemType
DiscreteItemType MultiStateValueDiscreteType
ServerType ServerStatusType ServerCapabilitiesType OperationLimitsType BuildInfoType
BaseDataType Number Integer UInteger Enumeration Structure
Boolean SByte Byte Int16 UInt16 Int32 UInt32 Int64 UInt64 Float Double String DateTime Guid ByteString
NodeId LocalizedText QualifiedName StatusCode ServerState EUInformation Range UtcTime Duration
ServerStatusDataType BuildInfo EnumValueType
HistoryServerCapabilities HistoryServerCapabilities_AccessHistoryDataCapability
HistoryServerCapabilities_AccessHistoryEventsCapability HistoryServerCapabilities_MaxReturnDataValues
HistoryServerCapabilities_MaxReturnEventValues HistoryServerCapabilities_InsertDataCapability
HistoryServerCapabilities_ReplaceDataCapability HistoryServerCapabilities_UpdateDataCapability
HistoryServerCapabilities_DeleteRawCapability HistoryServerCapabilities_DeleteAtTimeCapability
HistoryServerCapabilitiesType HistoricalDataConfigurationType
BaseEventType BaseEventType_EventId BaseEventType_EventType BaseEventType_SourceNode BaseEventType_SourceName
BaseEventType_Time BaseEventType_ReceiveTime BaseEventType_Message BaseEventType_Severity
AuditEventType AuditEventType_ActionTimeStamp AuditEventType_Status AuditEventType_ServerId
AuditEventType_ClientAuditEntryId AuditEventType_ClientUserId AuditSecurityEventType AuditSessionEventType
AuditSessionEventType_SessionId AuditActivateSessionEventType AuditActivateSessionEventType_SecureChannelId
AuditUpdateEventType AuditWriteUpdateEventType AuditWriteUpdateEventType_AttributeId AuditWriteUpdateEventType_IndexRange
AuditWriteUpdateEventType_OldValue AuditWriteUpdateEventType_NewValue ModellingRule_Mandatory HasModellingRule
EventQueueOverflowEventType
Server_ServerCapabilities_OperationLimits_MaxNodesPerMethodCall Argument HasCondition
ConditionType ConditionType_ConditionClassId ConditionType_ConditionClassName ConditionType_ConditionName
ConditionType_BranchId ConditionType_Retain ConditionType_EnabledState ConditionType_EnabledState_Id
ConditionType_Quality ConditionType_Quality_SourceTimestamp ConditionType_LastSeverity
ConditionType_LastSeverity_SourceTimestamp ConditionType_Comment ConditionType_Comment_SourceTimestamp
ConditionType_ClientUserId ConditionType_AddComment ConditionType_AddComment_InputArguments
ConditionType_ConditionRefresh ConditionType_ConditionRefresh_InputArguments ConditionType_ConditionRefresh2
ConditionType_ConditionRefresh2_InputArguments
AcknowledgeableConditionType AcknowledgeableConditionType_AckedState AcknowledgeableConditionType_AckedState_Id
AcknowledgeableConditionType_Acknowledge AcknowledgeableConditionType_Acknowledge_InputArguments
AlarmConditionType AlarmConditionType_ActiveState AlarmConditionType_ActiveState_Id AlarmConditionType_InputNode
AlarmConditionType_SuppressedOrShelved LimitAlarmType LimitAlarmType_HighHighLimit LimitAlarmType_HighLimit
LimitAlarmType_LowLimit LimitAlarmType_LowLowLimit ExclusiveLimitAlarmType ExclusiveLimitAlarmType_LimitState
ExclusiveLimitAlarmType_LimitState_CurrentState ExclusiveLimitAlarmType_LimitState_CurrentState_Id
ExclusiveLimitStateMachineType ExclusiveLimitStateMachineType_HighHigh ExclusiveLimitStateMachineType_High
ExclusiveLimitStateMachineType_Low ExclusiveLimitStateMachineType_LowLow
DiscreteAlarmType OffNormalAlarmType OffNormalAlarmType_NormalState
TwoStateVariableType TwoStateVariableType_Id ConditionVariableType ConditionVariableType_SourceTimestamp
FiniteStateVariableType FiniteStateVariableType_Id
BaseConditionClassType ProcessConditionClassType SystemEventType RefreshStartEventType RefreshEndEventType
AuditUpdateMethodEventType AuditUpdateMethodEventType_MethodId AuditUpdateMethodEventType_InputArguments
AuditConditionEventType AuditConditionAcknowledgeEventType AuditConditionAcknowledgeEventType_ConditionEventId
AuditConditionAcknowledgeEventType_Comment AuditConditionCommentEventType AuditConditionCommentEventType_ConditionEventId
AuditConditionCommentEventType_Comment
""".split()


def generate_node_ids(type_names):
    ids = {}
    with open(SPEC / "NodeIds.csv") as f:
        for row in csv.reader(f):
            if len(row) >= 2:
                ids[row[0]] = int(row[1])
    out = [HEADER, "/// Numeric NodeIds of namespace 0 (NodeIds.csv) that Railgate uses.", "public enum UAIds {"]
    for name in NODES:
        # Server_ServerStatus_State → server_ServerStatus_State: the path stays readable.
        head, _, rest = name.partition("_")
        swift = lower_camel(head).strip("`") + ("_" + rest if rest else "")
        out.append(f"    public static let {swift} = NodeId({ids[name]})")
    out.append("")
    out.append("    /// DefaultBinary encoding ids of the generated structures.")
    out.append("    public enum Encoding {")
    for name in type_names:
        key = f"{name}_Encoding_DefaultBinary"
        if key in ids:
            out.append(f"        public static let {lower_camel(name).strip('`')} = NodeId({ids[key]})")
    out.append("    }")
    out.append("}")
    return "\n".join(out) + "\n"


def generate_status_codes():
    out = [HEADER, "extension StatusCode {"]
    names = []
    with open(SPEC / "StatusCode.csv") as f:
        for row in csv.reader(f):
            if len(row) >= 3:
                name, value, doc = row[0], int(row[1], 16), row[2]
                out.append(f"    /// {doc}")
                out.append(f"    public static let {lower_camel(name)} = StatusCode(rawValue: 0x{value:08X})")
                names.append((value, name))
    out.append("")
    out.append("    /// Symbolic names by code (severity and sub-code bits; info bits cleared).")
    out.append("    static let names: [UInt32: String] = [")
    for value, name in names:
        out.append(f"        0x{value:08X}: \"{name}\",")
    out.append("    ]")
    out.append("}")
    return "\n".join(out) + "\n"


HEADER = """// Generated by scripts/gen/opcua_gen.py from the OPC Foundation's normative
// files (Opc.Ua.Types.bsd, NodeIds.csv, StatusCode.csv). Do not edit.
"""


def main():
    structs, enums = load_schema()
    names, enum_names = closure(structs, enums)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "UATypes.swift").write_text(generate_types(structs, enums, names, enum_names))
    (OUT / "UAIds.swift").write_text(generate_node_ids(names))
    (OUT / "StatusCode+Names.swift").write_text(generate_status_codes())
    print(f"opcua_gen: {len(names)} structures, {len(enum_names)} enumerations, {len(NODES)} node ids")


if __name__ == "__main__":
    main()
