import RailgateConfig
import RailgateCore

extension BusPoller {
    /// Queues a write for the bus thread, which executes it between cycles.
    /// Only tags of this bus are accepted; policy checks are the caller's
    /// (`WriteRouter`).
    public func submitWrite(tag: Int, value: WriteValue, completion: @escaping @Sendable (WriteOutcome) -> Void) {
        guard location(ofTag: tag) != nil else {
            return completion(.refused("tag \(tag) does not belong to bus \(bus.name)"))
        }
        guard isRunning else {
            return completion(.failed("bus \(bus.name) is not running"))
        }
        enqueue(tag: tag, value: value, completion: completion)
    }

    /// Device index and tag configuration of a gateway tag index on this bus.
    func location(ofTag tag: Int) -> (device: Int, config: TagConfig)? {
        var first = firstTagIndex
        for (index, device) in bus.devices.enumerated() {
            if tag >= first && tag < first + device.tags.count {
                return (index, device.tags[tag - first])
            }
            first += device.tags.count
        }
        return nil
    }

    /// Executes one write on the bus thread. Returns the outcome.
    func execute(tag: Int, value: WriteValue, on connection: ModbusConnection) -> WriteOutcome {
        guard let (device, config) = location(ofTag: tag) else {
            return .refused("tag \(tag) does not belong to bus \(bus.name)")
        }
        let deviceName = bus.devices[device].name
        let unit = bus.devices[device].unit
        let target = "device \(deviceName) unit \(unit) \(config.table) \(config.address)"
        let error: Int32?
        switch config.table {
        case .coil:
            let flag: Bool
            switch value {
            case .bool(let b): flag = b
            case .number(let n) where n == 0 || n == 1: flag = n == 1
            default: return .refused("\(target): a coil takes true or false, not \(value)")
            }
            error = connection.writeCoil(unit: unit, address: config.address, value: flag,
                                         multiple: config.writeMultiple)
        case .holdingRegister:
            let words: [UInt16]
            do {
                words = try RegisterCodec.encode(value, for: tagInfo(tag))
            } catch {
                return .refused("\(target): \(error)")
            }
            error = connection.writeRegisters(unit: unit, address: config.address, words: words,
                                              multiple: config.writeMultiple)
        case .inputRegister, .discreteInput:
            return .refused("\(target): \(config.table)s are read-only")
        }
        if let error {
            if ModbusErrno.needsReconnect(error) { connection.close() } else { connection.flush() }
            return .failed("\(target): \(ModbusErrno.message(error)) (\(ModbusErrno.quality(error)))")
        }
        return .done
    }
}
