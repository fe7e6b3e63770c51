// EventFilter (Part 4 §7.22.3): which fields of an event a monitored item reports (select
// clauses) and which events pass (the where clause, a ContentFilter of Part 4 §7.7).

/// An EventFilter checked once at CreateMonitoredItems and then applied to every event.
struct CompiledEventFilter {
    enum Select {
        /// A field by browse path (Value attribute).
        case field(String, typeDefinition: NodeId)
        /// The NodeId of the condition (Part 9): the event's source for Railgate's conditions.
        case conditionId
        /// A clause the server cannot resolve: always null.
        case none
    }

    indirect enum Operand {
        case literal(Variant)
        case field(String, typeDefinition: NodeId)
        case element(Int)
    }

    struct Element {
        var op: FilterOperator
        var operands: [Operand]
    }

    var select: [Select]
    var elements: [Element]

    /// At most this many select clauses, where-clause elements and operands per element: an
    /// EventFilter is client input and is evaluated for every event.
    static let maxSelectClauses = 64
    static let maxElements = 32
    static let maxOperands = 64
    static let maxPathLength = 8

    /// Checks and compiles a filter; the result says which clause or element is wrong.
    static func compile(_ filter: EventFilter) -> (CompiledEventFilter?, EventFilterResult, StatusCode) {
        var result = EventFilterResult()
        var status = StatusCode.good
        guard filter.selectClauses.count <= maxSelectClauses, filter.whereClause.elements.count <= maxElements else {
            return (nil, result, .badMonitoredItemFilterInvalid)
        }
        var select: [Select] = []
        for clause in filter.selectClauses {
            let (compiled, code) = compileSelect(clause)
            select.append(compiled)
            result.selectClauseResults.append(code)
        }
        if select.isEmpty { status = .badEventFilterInvalid }
        var elements: [Element] = []
        for (index, element) in filter.whereClause.elements.enumerated() {
            var elementResult = ContentFilterElementResult(statusCode: .good)
            var operands: [Operand] = []
            if element.filterOperands.count > maxOperands { elementResult.statusCode = .badFilterOperandCountMismatch }
            for operand in element.filterOperands.prefix(maxOperands) {
                switch compileOperand(operand, at: index, count: filter.whereClause.elements.count) {
                case .success(let compiled):
                    operands.append(compiled)
                    elementResult.operandStatusCodes.append(.good)
                case .failure(let error):
                    elementResult.operandStatusCodes.append(error.status)
                    elementResult.statusCode = .badFilterOperandInvalid
                }
            }
            if elementResult.statusCode == .good, let problem = check(element.filterOperator, operands: operands.count) {
                elementResult.statusCode = problem
            }
            if elementResult.statusCode != .good { status = .badMonitoredItemFilterInvalid }
            if elementResult.statusCode == .badFilterOperatorUnsupported { status = .badMonitoredItemFilterUnsupported }
            result.whereClauseResult.elementResults.append(elementResult)
            elements.append(Element(op: element.filterOperator, operands: operands))
        }
        // A where clause that is all good reports no element results (Part 4 §7.4.2).
        if status == .good { result.whereClauseResult.elementResults = [] }
        guard status == .good else { return (nil, result, status) }
        return (CompiledEventFilter(select: select, elements: elements), result, .good)
    }

    private static func compileSelect(_ clause: SimpleAttributeOperand) -> (Select, StatusCode) {
        if clause.attributeId == AttributeId.nodeId && clause.browsePath.isEmpty { return (.conditionId, .good) }
        guard clause.attributeId == AttributeId.value else { return (.none, .badAttributeIdInvalid) }
        guard !clause.browsePath.isEmpty, clause.browsePath.count <= maxPathLength else { return (.none, .badBrowseNameInvalid) }
        if let range = clause.indexRange, !range.isEmpty { return (.none, .badIndexRangeInvalid) }
        return (.field(clause.browsePath.map { $0.name ?? "" }.joined(separator: "/"),
                       typeDefinition: clause.typeDefinitionId), .good)
    }

    private static func compileOperand(_ operand: ExtensionObject, at index: Int, count: Int) -> Result<Operand, StatusCodeError> {
        do {
            if let literal = try operand.decode(LiteralOperand.self, encodingId: UAIds.Encoding.literalOperand) {
                return .success(.literal(literal.value))
            }
            if let element = try operand.decode(ElementOperand.self, encodingId: UAIds.Encoding.elementOperand) {
                // Only elements after this one: no cycles, and evaluation ends.
                guard Int(element.index) > index, Int(element.index) < count else {
                    return .failure(StatusCodeError(.badFilterElementInvalid))
                }
                return .success(.element(Int(element.index)))
            }
            if let attribute = try operand.decode(SimpleAttributeOperand.self, encodingId: UAIds.Encoding.simpleAttributeOperand) {
                let (select, code) = compileSelect(attribute)
                guard case .field(let path, let type) = select else {
                    return .failure(StatusCodeError(code == .good ? .badFilterOperandInvalid : code))
                }
                return .success(.field(path, typeDefinition: type))
            }
        } catch {
            return .failure(StatusCodeError(.badFilterOperandInvalid))
        }
        return .failure(StatusCodeError(.badFilterOperandInvalid))
    }

    /// The operand count an operator takes, or why it cannot be used.
    private static func check(_ op: FilterOperator, operands: Int) -> StatusCode? {
        switch op {
        case .isNull, .not, .ofType: return operands == 1 ? nil : .badFilterOperandCountMismatch
        case .equals, .greaterThan, .lessThan, .greaterThanOrEqual, .lessThanOrEqual, .and, .or:
            return operands == 2 ? nil : .badFilterOperandCountMismatch
        case .between: return operands == 3 ? nil : .badFilterOperandCountMismatch
        case .inList: return operands >= 2 ? nil : .badFilterOperandCountMismatch
        default: return .badFilterOperatorUnsupported
        }
    }

    // MARK: Applying

    /// The event's selected fields, whatever the where clause says (the queue overflow event,
    /// Part 4 §5.12.1.5, is not filtered).
    func selected(of event: UAEvent, in space: AddressSpace) -> [Variant] {
        select.map { clause in
            switch clause {
            case .field(let path, let type): value(path, type, event, space)
            case .conditionId: event.fields["ConditionId"] ?? .empty
            case .none: .empty
            }
        }
    }

    /// The event's selected fields, if it passes the where clause.
    func fields(of event: UAEvent, in space: AddressSpace) -> [Variant]? {
        if !elements.isEmpty {
            // Operands refer only to later elements: evaluated last to first, each once (a chain of
            // elements each using the next twice stays linear, not 2^n).
            var results = [VariantValue?](repeating: nil, count: elements.count)
            for index in elements.indices.reversed() { results[index] = evaluate(index, event, space, results) }
            guard results[0] == .boolean(true) else { return nil }
        }
        return selected(of: event, in: space)
    }

    private func value(_ path: String, _ type: NodeId, _ event: UAEvent, _ space: AddressSpace) -> Variant {
        // A field of another event type than this event's (or a supertype) is null.
        if !type.isNull && type != UAIds.baseEventType && !space.isSubtype(event.eventType, of: type) { return .empty }
        return event.field(path)
    }

    private func operand(_ operand: Operand, _ event: UAEvent, _ space: AddressSpace, _ results: [VariantValue?]) -> VariantValue? {
        switch operand {
        case .literal(let variant): return variant.scalarValue
        case .field(let path, let type): return value(path, type, event, space).scalarValue
        case .element(let index): return results.indices.contains(index) ? results[index] : nil
        }
    }

    /// An element's result (the later elements' in `results`): a Boolean for the logical
    /// operators, nil when it cannot be told.
    private func evaluate(_ index: Int, _ event: UAEvent, _ space: AddressSpace, _ results: [VariantValue?]) -> VariantValue? {
        guard elements.indices.contains(index) else { return nil }
        let element = elements[index]
        let values = { element.operands.map { self.operand($0, event, space, results) } }
        switch element.op {
        case .ofType:
            guard case .nodeId(let type)? = operand(element.operands[0], event, space, results) else { return .boolean(false) }
            return .boolean(space.isSubtype(event.eventType, of: type))
        case .isNull:
            return .boolean(operand(element.operands[0], event, space, results) == nil)
        case .not:
            guard case .boolean(let value)? = operand(element.operands[0], event, space, results) else { return nil }
            return .boolean(!value)
        case .and, .or:
            let both = values()
            guard case .boolean(let a)? = both[0], case .boolean(let b)? = both[1] else {
                // Part 4 Table 120: FALSE and NULL is FALSE, TRUE or NULL is TRUE.
                if element.op == .and, both.contains(.boolean(false)) { return .boolean(false) }
                if element.op == .or, both.contains(.boolean(true)) { return .boolean(true) }
                return nil
            }
            return .boolean(element.op == .and ? a && b : a || b)
        case .inList:
            let all = values()
            guard let first = all[0] else { return .boolean(false) }
            return .boolean(all.dropFirst().contains { $0.map { Self.compare(first, $0) == 0 } ?? false })
        case .between:
            let all = values()
            guard let value = all[0], let low = all[1], let high = all[2],
                  let above = Self.compare(value, low), let below = Self.compare(value, high) else { return .boolean(false) }
            return .boolean(above >= 0 && below <= 0)
        default:
            let both = values()
            guard let a = both[0], let b = both[1], let order = Self.compare(a, b) else { return .boolean(false) }
            switch element.op {
            case .equals: return .boolean(order == 0)
            case .greaterThan: return .boolean(order > 0)
            case .lessThan: return .boolean(order < 0)
            case .greaterThanOrEqual: return .boolean(order >= 0)
            case .lessThanOrEqual: return .boolean(order <= 0)
            default: return nil
            }
        }
    }

    /// −1, 0, 1 for values that can be compared (numbers with numbers, like with like).
    static func compare(_ a: VariantValue, _ b: VariantValue) -> Int? {
        if let x = Variant.scalar(a).numeric, let y = Variant.scalar(b).numeric {
            return x < y ? -1 : x > y ? 1 : 0
        }
        switch (a, b) {
        case (.boolean(let x), .boolean(let y)): return x == y ? 0 : (x ? 1 : -1)
        case (.string(let x), .string(let y)):
            let (l, r) = (x ?? "", y ?? "")
            return l < r ? -1 : l > r ? 1 : 0
        case (.dateTime(let x), .dateTime(let y)): return x < y ? -1 : x > y ? 1 : 0
        case (.localizedText(let x), .localizedText(let y)): return x.text == y.text ? 0 : nil
        case (.localizedText(let x), .string(let y)), (.string(let y), .localizedText(let x)): return x.text == y ? 0 : nil
        default: return a == b ? 0 : nil
        }
    }
}

extension Variant {
    /// The value of a scalar variant; nil for an empty or array variant.
    var scalarValue: VariantValue? {
        guard case .scalar(let value) = self else { return nil }
        return value
    }
}
