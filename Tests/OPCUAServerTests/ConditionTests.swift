import Testing
@testable import OPCUAServer
import RailgateCore

/// Alarm conditions in the address space: one stored node each, members made when asked for.
struct ConditionTests {
    let engine = AlarmEngine(definitions: [
        AlarmDefinition(name: "speed_limits", tag: 0, output: 2,
                        kind: .limit(highHigh: 900, high: 500, low: nil, lowLow: nil, deadband: 5), severity: 700,
                        message: "speed out of range"),
        AlarmDefinition(name: "door", tag: 1, output: 3, kind: .offNormal(normal: [0]), severity: 400, message: "door open"),
    ])
    let space: AddressSpace
    let limits = NodeId("acme/m1/speed_limits#Condition", namespace: 1)
    let door = NodeId("acme/m1/door#Condition", namespace: 1)

    init() {
        let table = TagTable(tags: [
            Tag(name: "speed", device: "m1", path: "acme/m1/speed", dataType: .uint16),
            Tag(name: "door_closed", device: "m1", path: "acme/m1/door_closed", dataType: .uint16),
            Tag(name: "speed_limits", device: "m1", path: "acme/m1/speed_limits", dataType: .uint16, codes: AlarmEngine.stateCodes),
            Tag(name: "door", device: "m1", path: "acme/m1/door", dataType: .uint16, codes: AlarmEngine.stateCodes),
        ])
        var model = GatewayModel(namespaceUri: "urn:railgate:test", hierarchy: ["acme"], table: table, writesEnabled: false,
                                 devices: DeviceTable(tags: table.tags))
        model.alarms = engine
        var builder = AddressSpaceBuilder()
        let gateway = builder.addGateway(model)
        let conditions = builder.addConditions(model, tagNodes: gateway.tagNodes, tagDevices: gateway.tagDevices)
        builder.addNamespace0(identity: ServerIdentity(applicationUri: "urn:t", productUri: "urn:t", productName: "t",
                                                       softwareVersion: "0", startTime: UADateTime(ticks: 1),
                                                       maxNodesPerRequest: 10, maxMonitoredItemsPerCall: 10,
                                                       maxBrowseContinuationPoints: 4),
                              objects: [gateway.top], notifiers: gateway.devices)
        space = builder.build(table: table, tagNodes: gateway.tagNodes, tagDevices: gateway.tagDevices, alarms: engine,
                              conditions: conditions)
    }

    func member(_ condition: NodeId, _ field: String) -> NodeId {
        guard case .string(let base) = condition.identifier else { return .null }
        return NodeId("\(base)/\(field)", namespace: 1)
    }

    @Test func conditionsAreComponentsOfTheirDeviceWithTheirMembers() throws {
        let node = try #require(space[limits])
        #expect(node.nodeClass == .object && node.typeDefinition == UAIds.exclusiveLimitAlarmType)
        #expect(node.browseName.name == "speed_limits.Condition")
        #expect(space.references(of: NodeId("acme/m1", namespace: 1)).contains(UAReference(UAIds.hasComponent, to: limits)))
        #expect(space.references(of: NodeId("acme/m1/speed", namespace: 1)).contains(UAReference(UAIds.hasCondition, to: limits)))
        let targets = Set(space.references(of: limits).filter(\.isForward).map(\.target))
        #expect(targets.contains(member(limits, "ActiveState")) && targets.contains(member(limits, "HighLimit")))
        #expect(targets.contains(UAIds.acknowledgeableConditionType_Acknowledge))
        // Only the limits it has; an off-normal alarm has NormalState and no LimitState.
        #expect(!targets.contains(member(limits, "LowLimit")) && space[member(limits, "LowLimit")] == nil)
        #expect(space[member(door, "NormalState")] != nil && space[member(door, "LimitState")] == nil)
        #expect(space[door]?.typeDefinition == UAIds.offNormalAlarmType)
        // Members down to the Id of LimitState/CurrentState, each pointing back to its parent.
        let id = try #require(space[member(limits, "LimitState/CurrentState/Id")])
        #expect(id.browseName.name == "Id" && id.dataType == UAIds.nodeId)
        #expect(space.references(of: id.nodeId).contains(
            UAReference(UAIds.hasProperty, to: member(limits, "LimitState/CurrentState"), forward: false)))
        #expect(space[member(limits, "LimitState")]?.nodeClass == .object)
    }

    @Test func memberValuesReadTheAlarmState() throws {
        engine.observe(0, Sample(tag: 0, quality: .good, timestamp: 1, value: SampleValue(uint: 950)), kind: .uint, now: 5) { _ in }
        func read(_ field: String) -> Variant? {
            guard case .computed(let value)? = space[member(limits, field)]?.value else { return nil }
            return value().value
        }
        #expect(read("ActiveState/Id") == .scalar(.boolean(true)) && read("AckedState/Id") == .scalar(.boolean(false)))
        #expect(read("LimitState/CurrentState/Id") == .scalar(.nodeId(UAIds.exclusiveLimitStateMachineType_HighHigh)))
        #expect(read("HighHighLimit") == .scalar(.double(900)) && read("Retain") == .scalar(.boolean(true)))
        _ = engine.acknowledge(0, user: "op", comment: "seen", now: 6)
        #expect(read("AckedState/Id") == .scalar(.boolean(true)) && read("ClientUserId") == .scalar(.string("op")))
    }

    /// NodeIds that look like members but are none: no node, no references (never a trap).
    @Test func nonMembersAreUnknown() {
        for text in ["acme/m1/speed_limits#Condition/", "acme/m1/speed_limits#Condition/ActiveState/Id/x",
                     "acme/m1/speed_limits#Condition/../Retain", "acme/m1/nothing#Condition/Retain",
                     "#Condition/Retain", "acme/m1/speed_limits#Condition/#Condition/Retain",
                     "acme/m1/speed_limits#Condition/Id", "acme/m1/speed_limits#Condition//Retain"] {
            #expect(space[NodeId(text, namespace: 1)] == nil, "\(text)")
            #expect(space.references(of: NodeId(text, namespace: 1)).isEmpty, "\(text)")
        }
        #expect(space[NodeId("acme/m1/speed_limits#Condition/Retain", namespace: 2)] == nil)
    }

    @Test func conditionEventsCarryEveryField() {
        var state = AlarmState()
        state.active = true
        state.limit = .high
        state.acknowledged = false
        state.value = 612
        state.quality = .good
        state.changedNs = 1_000_000_000
        let condition = ConditionNode(id: limits, source: NodeId("acme/m1/speed", namespace: 1), sourceName: "acme/m1/speed",
                                      device: NodeId("acme/m1", namespace: 1))
        let event = ConditionFields.event(engine.definitions[0], state, condition, now: 2_000_000_000)
        #expect(event.eventType == UAIds.exclusiveLimitAlarmType && event.severity == 700)
        #expect(event.field("ConditionId") == .scalar(.nodeId(limits)) && event.field("Retain") == .scalar(.boolean(true)))
        #expect(event.field("LimitState/CurrentState") == .scalar(.localizedText(LocalizedText("High", locale: "en"))))
        #expect(event.message.text == "speed out of range: High (612.0)" && event.notifiers == [condition.device])
        #expect(event.time == UADateTime(unixNanoseconds: 1_000_000_000))
    }
}
