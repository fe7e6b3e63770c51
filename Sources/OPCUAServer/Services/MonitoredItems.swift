// MonitoredItem service set (Part 4 §5.12): CreateMonitoredItems,
// ModifyMonitoredItems, SetMonitoringMode, DeleteMonitoredItems.
// Event monitored items with an EventFilter: Events/. Not implemented: SetTriggering, AggregateFilter.

extension UAServerCore {
    static let samplingIntervalRange = 10.0...3_600_000.0
    static let maxQueueSize = 1000

    func registerMonitoredItems() {
        register(UAIds.Encoding.createMonitoredItemsRequest, UAIds.Encoding.createMonitoredItemsResponse) {
            (request: CreateMonitoredItemsRequest, context) throws(ServiceError) in
            let subscription = try context.requireSubscription(request.subscriptionId)
            try self.checkOperationCount(request.itemsToCreate.count)
            guard (0...3).contains(request.timestampsToReturn.rawValue) else {
                throw ServiceError(.badTimestampsToReturnInvalid)
            }
            let results = request.itemsToCreate.map { create -> MonitoredItemCreateResult in
                guard self.monitoredItemCount < self.config.maxMonitoredItems else {
                    return MonitoredItemCreateResult(statusCode: .badTooManyMonitoredItems)
                }
                guard let node = self.addressSpace[create.itemToMonitor.nodeId] else {
                    return MonitoredItemCreateResult(statusCode: .badNodeIdUnknown)
                }
                if create.itemToMonitor.attributeId == AttributeId.eventNotifier {
                    guard (0...2).contains(create.monitoringMode.rawValue) else {
                        return MonitoredItemCreateResult(statusCode: .badMonitoringModeInvalid)
                    }
                    let (result, item) = self.eventItem(create, node: node, subscription: subscription,
                                                        timestamps: request.timestampsToReturn)
                    if let item {
                        subscription.items[item.id] = item
                        self.monitoredItemCount += 1
                    }
                    return result
                }
                guard create.itemToMonitor.attributeId == AttributeId.value
                        ? node.nodeClass == .variable
                        : self.attribute(create.itemToMonitor.attributeId, of: node) != nil else {
                    return MonitoredItemCreateResult(statusCode: .badAttributeIdInvalid)
                }
                guard (0...2).contains(create.monitoringMode.rawValue) else {
                    return MonitoredItemCreateResult(statusCode: .badMonitoringModeInvalid)
                }
                let parameters: Parameters
                switch self.parameters(create.requestedParameters, node: node, subscription: subscription) {
                case .success(let revised): parameters = revised
                case .failure(let error): return MonitoredItemCreateResult(statusCode: error.status)
                }
                let id = subscription.nextItemId
                subscription.nextItemId &+= 1
                let item = MonitoredItem(
                    id: id, item: create.itemToMonitor, clientHandle: create.requestedParameters.clientHandle,
                    mode: create.monitoringMode, samplingIntervalMs: parameters.samplingInterval,
                    queueSize: parameters.queueSize, discardOldest: create.requestedParameters.discardOldest,
                    trigger: parameters.trigger, deadband: parameters.deadband, timestamps: request.timestampsToReturn,
                    budget: self.queueBudget)
                subscription.items[id] = item
                self.monitoredItemCount += 1
                return MonitoredItemCreateResult(statusCode: .good, monitoredItemId: id,
                                                 revisedSamplingInterval: parameters.samplingInterval,
                                                 revisedQueueSize: UInt32(parameters.queueSize))
            }
            subscription.reschedule()
            return CreateMonitoredItemsResponse(responseHeader: context.responseHeader(), results: results)
        }

        register(UAIds.Encoding.modifyMonitoredItemsRequest, UAIds.Encoding.modifyMonitoredItemsResponse) {
            (request: ModifyMonitoredItemsRequest, context) throws(ServiceError) in
            let subscription = try context.requireSubscription(request.subscriptionId)
            try self.checkOperationCount(request.itemsToModify.count)
            let results = request.itemsToModify.map { modify -> MonitoredItemModifyResult in
                guard let item = subscription.items[modify.monitoredItemId],
                      let node = self.addressSpace[item.item.nodeId] else {
                    return MonitoredItemModifyResult(statusCode: .badMonitoredItemIdInvalid)
                }
                if item.eventFilter != nil {
                    return self.modifyEventItem(item, modify.requestedParameters)
                }
                switch self.parameters(modify.requestedParameters, node: node, subscription: subscription) {
                case .failure(let error):
                    return MonitoredItemModifyResult(statusCode: error.status)
                case .success(let revised):
                    item.clientHandle = modify.requestedParameters.clientHandle
                    item.samplingIntervalMs = revised.samplingInterval
                    item.queueSize = revised.queueSize
                    item.discardOldest = modify.requestedParameters.discardOldest
                    item.trigger = revised.trigger
                    item.deadband = revised.deadband
                    item.timestamps = request.timestampsToReturn
                    item.trim(to: item.queueSize)
                    return MonitoredItemModifyResult(statusCode: .good, revisedSamplingInterval: revised.samplingInterval,
                                                     revisedQueueSize: UInt32(revised.queueSize))
                }
            }
            subscription.reschedule()
            return ModifyMonitoredItemsResponse(responseHeader: context.responseHeader(), results: results)
        }

        register(UAIds.Encoding.setMonitoringModeRequest, UAIds.Encoding.setMonitoringModeResponse) {
            (request: SetMonitoringModeRequest, context) throws(ServiceError) in
            let subscription = try context.requireSubscription(request.subscriptionId)
            try self.checkOperationCount(request.monitoredItemIds.count)
            guard (0...2).contains(request.monitoringMode.rawValue) else { throw ServiceError(.badMonitoringModeInvalid) }
            let results = request.monitoredItemIds.map { id -> StatusCode in
                guard let item = subscription.items[id] else { return .badMonitoredItemIdInvalid }
                item.mode = request.monitoringMode
                if item.mode == .disabled { item.trim(to: 0) }
                return .good
            }
            return SetMonitoringModeResponse(responseHeader: context.responseHeader(), results: results)
        }

        register(UAIds.Encoding.deleteMonitoredItemsRequest, UAIds.Encoding.deleteMonitoredItemsResponse) {
            (request: DeleteMonitoredItemsRequest, context) throws(ServiceError) in
            let subscription = try context.requireSubscription(request.subscriptionId)
            try self.checkOperationCount(request.monitoredItemIds.count)
            let results = request.monitoredItemIds.map { id -> StatusCode in
                guard subscription.items.removeValue(forKey: id) != nil else { return .badMonitoredItemIdInvalid }
                self.monitoredItemCount -= 1
                return .good
            }
            subscription.reschedule()
            return DeleteMonitoredItemsResponse(responseHeader: context.responseHeader(), results: results)
        }
    }

    struct Parameters {
        var samplingInterval: Double
        var queueSize: Int
        var trigger: DataChangeTrigger
        var deadband: Double
    }

    /// Revises sampling interval and queue size and checks the filter
    /// (Part 4 §7.21, §7.22.2; Part 8 §6.2 for percent deadbands).
    func parameters(_ requested: MonitoringParameters, node: UANode,
                    subscription: UASubscription) -> Result<Parameters, ServiceError> {
        var interval = requested.samplingInterval
        if interval < 0 || !interval.isFinite { interval = subscription.publishingIntervalMs }
        interval = min(max(interval, Self.samplingIntervalRange.lowerBound), Self.samplingIntervalRange.upperBound)
        let queueSize = min(max(Int(requested.queueSize), 1), Self.maxQueueSize)
        var trigger = DataChangeTrigger.statusValue
        var deadband = 0.0
        if !requested.filter.isNull {
            guard requested.filter.typeId == UAIds.Encoding.dataChangeFilter else {
                return .failure(ServiceError(.badMonitoredItemFilterUnsupported))
            }
            guard let filter = try? requested.filter.decode(DataChangeFilter.self, encodingId: UAIds.Encoding.dataChangeFilter) else {
                return .failure(ServiceError(.badMonitoredItemFilterInvalid))
            }
            guard (0...2).contains(filter.trigger.rawValue), filter.deadbandValue >= 0 else {
                return .failure(ServiceError(.badMonitoredItemFilterInvalid))
            }
            trigger = filter.trigger
            switch filter.deadbandType {
            case 0: break
            case 1: deadband = filter.deadbandValue
            case 2:
                guard filter.deadbandValue <= 100, case .tag(let index)? = node.value,
                      let range = addressSpace.table?.tags[index].range else {
                    return .failure(ServiceError(.badDeadbandFilterInvalid))
                }
                deadband = (range.upperBound - range.lowerBound) * filter.deadbandValue / 100
            default:
                return .failure(ServiceError(.badDeadbandFilterInvalid))
            }
        }
        return .success(Parameters(samplingInterval: interval, queueSize: queueSize, trigger: trigger, deadband: deadband))
    }
}
