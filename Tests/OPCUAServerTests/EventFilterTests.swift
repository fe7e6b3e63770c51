import Testing
@testable import OPCUAServer
import RailgateCore

struct EventFilterTests {
    let harness = ServerHarness()

    func field(_ name: String) -> ExtensionObject {
        ExtensionObject(SimpleAttributeOperand(typeDefinitionId: UAIds.baseEventType, browsePath: [QualifiedName(name)],
                                               attributeId: AttributeId.value), encodingId: UAIds.Encoding.simpleAttributeOperand)
    }

    func literal(_ value: VariantValue) -> ExtensionObject {
        ExtensionObject(LiteralOperand(value: .scalar(value)), encodingId: UAIds.Encoding.literalOperand)
    }

    var write: UAEvent {
        var event = UAEvent(type: UAIds.auditWriteUpdateEventType, source: NodeId("acme/l1/m1/speed", namespace: 1),
                            sourceName: "acme/l1/m1/speed", time: 1_796_000_000_000_000_000, message: "write", severity: 100)
        event.fields["NewValue"] = .scalar(.uInt16(7))
        return event
    }

    @Test func selectAndWhereClausesPickFieldsAndEvents() throws {
        let filter = EventFilter(
            selectClauses: [SimpleAttributeOperand(typeDefinitionId: UAIds.baseEventType, browsePath: [QualifiedName("NewValue")],
                                                   attributeId: AttributeId.value),
                            SimpleAttributeOperand(typeDefinitionId: UAIds.auditActivateSessionEventType,
                                                   browsePath: [QualifiedName("SessionId")], attributeId: AttributeId.value)],
            whereClause: ContentFilter(elements: [
                ContentFilterElement(filterOperator: .and, filterOperands: [
                    ExtensionObject(ElementOperand(index: 1), encodingId: UAIds.Encoding.elementOperand),
                    ExtensionObject(ElementOperand(index: 2), encodingId: UAIds.Encoding.elementOperand)]),
                ContentFilterElement(filterOperator: .ofType, filterOperands: [literal(.nodeId(UAIds.auditEventType))]),
                ContentFilterElement(filterOperator: .greaterThan, filterOperands: [field("NewValue"), literal(.double(5))]),
            ]))
        let (compiled, result, status) = CompiledEventFilter.compile(filter)
        #expect(status == .good && result.selectClauseResults == [.good, .good])
        let fields = try #require(compiled?.fields(of: write, in: harness.core.addressSpace))
        // A field of another event type is null.
        #expect(fields == [.scalar(.uInt16(7)), .empty])
        var small = write
        small.fields["NewValue"] = .scalar(.uInt16(3))
        #expect(compiled?.fields(of: small, in: harness.core.addressSpace) == nil)
    }

    @Test func aChainOfElementsUsingTheNextTwiceIsEvaluatedOnce() throws {
        // 32 elements, each And(next, next): by recursion 2^31 evaluations; evaluated last to first, 32.
        var elements = (0..<31).map { index in
            ContentFilterElement(filterOperator: .and, filterOperands: [
                ExtensionObject(ElementOperand(index: UInt32(index + 1)), encodingId: UAIds.Encoding.elementOperand),
                ExtensionObject(ElementOperand(index: UInt32(index + 1)), encodingId: UAIds.Encoding.elementOperand)])
        }
        elements.append(ContentFilterElement(filterOperator: .equals, filterOperands: [field("Severity"), literal(.uInt16(100))]))
        let filter = EventFilter(selectClauses: [SimpleAttributeOperand(typeDefinitionId: UAIds.baseEventType,
                                                                        browsePath: [QualifiedName("Message")],
                                                                        attributeId: AttributeId.value)],
                                 whereClause: ContentFilter(elements: elements))
        let compiled = try #require(CompiledEventFilter.compile(filter).0)
        #expect(compiled.fields(of: write, in: harness.core.addressSpace) == [.scalar(.localizedText(LocalizedText("write")))])
    }

    @Test func badFiltersAreRefusedWithTheElementNamed() {
        let backwards = EventFilter(
            selectClauses: [SimpleAttributeOperand(typeDefinitionId: UAIds.baseEventType, browsePath: [QualifiedName("Message")],
                                                   attributeId: AttributeId.value)],
            whereClause: ContentFilter(elements: [
                ContentFilterElement(filterOperator: .not, filterOperands: [
                    ExtensionObject(ElementOperand(index: 0), encodingId: UAIds.Encoding.elementOperand)]),
            ]))
        let (compiled, result, status) = CompiledEventFilter.compile(backwards)
        #expect(compiled == nil && status == .badMonitoredItemFilterInvalid)
        #expect(result.whereClauseResult.elementResults.first?.operandStatusCodes == [.badFilterElementInvalid])
        let noSelect = EventFilter(selectClauses: [], whereClause: ContentFilter())
        #expect(CompiledEventFilter.compile(noSelect).2 == .badEventFilterInvalid)
        let tooMany = EventFilter(selectClauses: Array(repeating: SimpleAttributeOperand(
            typeDefinitionId: UAIds.baseEventType, browsePath: [QualifiedName("Message")], attributeId: AttributeId.value), count: 65))
        #expect(CompiledEventFilter.compile(tooMany).2 == .badMonitoredItemFilterInvalid)
    }
}

struct EventQueueTests {
    func item(discardOldest: Bool) -> MonitoredItem {
        MonitoredItem(id: 1, item: ReadValueId(nodeId: UAIds.server, attributeId: AttributeId.eventNotifier), clientHandle: 1,
                      mode: .reporting, samplingIntervalMs: 0, queueSize: 3, discardOldest: discardOldest,
                      trigger: .statusValue, deadband: 0, timestamps: .both, budget: QueueBudget(limit: 100))
    }

    func drain(_ item: MonitoredItem) -> [String] {
        var taken: [String] = []
        while let fields = item.takeEvent() {
            if case .scalar(.string(let text))? = fields.first { taken.append(text ?? "") }
        }
        return taken
    }

    @Test func aFullQueueSaysWhereEventsWentMissing() {
        let oldest = item(discardOldest: true)
        for n in 1...6 { oldest.offer(event: [.scalar(.string("e\(n)"))]) { [.scalar(.string("overflow"))] } }
        // e1 … e4 went missing: the overflow event stands first, then the newest.
        #expect(drain(oldest) == ["overflow", "e5", "e6"])
        #expect(oldest.droppedEvents == 3)
        // Taken, the overflow event may come again.
        for n in 7...10 { oldest.offer(event: [.scalar(.string("e\(n)"))]) { [.scalar(.string("overflow"))] } }
        #expect(drain(oldest) == ["overflow", "e9", "e10"])

        let newest = item(discardOldest: false)
        for n in 1...6 { newest.offer(event: [.scalar(.string("e\(n)"))]) { [.scalar(.string("overflow"))] } }
        #expect(drain(newest) == ["e1", "e2", "overflow"])
    }
}
