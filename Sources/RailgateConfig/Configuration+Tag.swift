import RailgateCore

extension Configuration {
    static func readTag(_ reader: NodeReader) -> TagConfig? {
        reader.rejectUnknownKeys(["name", "ref", "table", "address", "type", "order", "bit", "length",
                                  "scale", "offset", "unit", "publish_unit", "deadband", "deadband_percent", "range",
                                  "writable", "write_multiple", "map"])
        let name = checkName(reader, "name")

        // Address: either `ref` (1-based 4xxxx notation) or `table` + `address` (0-based).
        var table: ModbusTable?
        var address: Int?
        if let ref = reader.scalar("ref") {
            if reader.child("table") != nil || reader.child("address") != nil {
                reader.issue("ref", "give either ref or table + address, not both")
            } else if let parsed = ModbusTable.parseReference(ref) {
                (table, address) = parsed
            } else {
                reader.issue("ref", "\"\(ref)\" is not a Modbus reference (0xxxx coil, 1xxxx discrete input, 3xxxx input register, 4xxxx holding register; 5 or 6 digits, 1-based)")
            }
        } else {
            if let text = reader.string("table", required: true) {
                table = ModbusTable(rawValue: text)
                if table == nil {
                    let names = ModbusTable.allCases.map(\.rawValue).joined(separator: ", ")
                    reader.issue("table", "unknown table \"\(text)\" (expected one of: \(names))")
                }
            }
            address = reader.int("address", range: 0...65535, required: true)
        }

        let (type, order) = readType(reader, default: table.map { $0.isBits ? .bool : .uint16 })
        let bit = reader.int("bit", range: 0...15)
        let length = reader.int("length", range: 0...65535)
        let scale = reader.double("scale") ?? 1
        let offset = reader.double("offset") ?? 0
        let writable = reader.bool("writable") ?? false
        let writeMultiple = reader.bool("write_multiple") ?? false

        guard let table, let address, let type else { return nil }
        var valid = true
        func reject(_ key: String?, _ message: String) {
            reader.issue(key, message)
            valid = false
        }

        if type == .int8 || type == .uint8 {
            reject("type", "\(type) addresses one octet of a PROFIBUS process image; a Modbus register is int16 or uint16")
        }
        if table.isBits {
            if type != .bool { reject("type", "a \(table) holds single bits: type must be bool, not \(type)") }
            if bit != nil { reject("bit", "bit applies to bools in register tables only") }
        } else if type == .bool {
            if bit == nil { reject(nil, "a bool in a \(table) needs bit: 0…15") }
            if writable { reject("writable", "writing one bit of a register is not supported; map the whole register as uint16") }
        } else if bit != nil {
            reject("bit", "bit applies to bool tags only")
        }
        if type == .string {
            if (length ?? 0) == 0 { reject("length", "a string needs length: its number of registers (1…125)") }
            if scale != 1 || offset != 0 { reject("scale", "strings cannot be scaled") }
        } else if length != nil {
            reject("length", "length applies to string tags only")
        }
        if writable && (table == .inputRegister || table == .discreteInput) {
            reject("writable", "\(table)s are read-only in Modbus")
        }
        let count = table.isBits ? 1 : type.registerCount(stringLength: length ?? 0)
        if address + count - 1 > 65535 {
            reject("address", "tag spans \(address)…\(address + count - 1), past the last address 65535")
        }

        let value = readValueSettings(reader, type: type)
        guard valid, let value, let name else { return nil }
        return TagConfig(name: name, table: table, address: address, type: type, order: order, bit: bit,
                         length: type == .string ? (length ?? 0) : 0,
                         scaling: value.scaling, unit: value.unit,
                         absoluteDeadband: value.absoluteDeadband, range: value.range, writable: writable,
                         writeMultiple: writeMultiple, codes: value.codes)
    }

    /// `type` and `order` of a tag, with the usual defaults and messages.
    static func readType(_ reader: NodeReader, default fallback: DataType?) -> (DataType?, ByteOrder) {
        var type: DataType? = fallback
        if let text = reader.string("type") {
            type = DataType(name: text)
            if type == nil {
                let names = DataType.allCases.map(\.description).joined(separator: ", ")
                reader.issue("type", "unknown type \"\(text)\" (expected one of: \(names))")
            }
        }
        var order: ByteOrder = .abcd
        if let text = reader.string("order") {
            if let parsed = ByteOrder(name: text) { order = parsed } else {
                reader.issue("order", "unknown order \"\(text)\" (expected ABCD, CDAB, BADC or DCBA)")
            }
        }
        return (type, order)
    }

    /// Scaling, unit, EU range and deadband: the normalization every
    /// protocol's tags share. Nil (with issues logged) when they are invalid.
    static func readValueSettings(_ reader: NodeReader, type: DataType) -> TagValueConfig? {
        let scale = reader.double("scale") ?? 1
        let offset = reader.double("offset") ?? 0
        let unit = reader.string("unit")
        let publishUnit = reader.string("publish_unit")
        let deadband = reader.double("deadband")
        let deadbandPercent = reader.double("deadband_percent")
        let range = reader.range("range")
        var valid = true
        func reject(_ key: String?, _ message: String) {
            reader.issue(key, message)
            valid = false
        }
        func known(_ key: String, _ text: String?) -> EngineeringUnit? {
            guard let text else { return nil }
            if let found = EngineeringUnit.named(text) { return found }
            let closest = EngineeringUnit.suggestions(for: text)
            reject(key, "unknown unit \"\(text)\": write its UNECE code (CEL), UCUM code (Cel) or symbol (°C)"
                   + (closest.isEmpty ? "" : "; closest: \(closest.joined(separator: ", "))"))
            return nil
        }
        let deviceUnit = known("unit", unit)
        let targetUnit = known("publish_unit", publishUnit)
        // `publish_unit`: the value is converted from `unit` (what the device reports) by the
        // scaling's second step: normalization stays arithmetic on the sample, no allocation.
        var conversion = (scale: 1.0, offset: 0.0)
        if let publishUnit {
            if type == .bool || type == .string {
                reject("publish_unit", "a \(type) tag is not converted")
            } else if unit == nil {
                reject("publish_unit", "needs unit: the unit the device reports in")
            } else if let deviceUnit, let targetUnit {
                if let found = deviceUnit.conversion(to: targetUnit) {
                    conversion = found
                } else {
                    let what = { (unit: EngineeringUnit) in unit.dimension.map { "\(unit.description), \($0)" } ?? unit.description }
                    reject("publish_unit", "\(unit ?? "") (\(what(deviceUnit))) does not convert to \(publishUnit) (\(what(targetUnit)))")
                }
            }
        }
        if type == .bool && (scale != 1 || offset != 0) { reject("scale", "bools cannot be scaled") }
        if scale == 0 { reject("scale", "scale must not be 0") }
        var absoluteDeadband = 0.0
        if let deadband {
            if deadband < 0 { reject("deadband", "must not be negative") }
            absoluteDeadband = deadband
        }
        if let deadbandPercent {
            if deadband != nil {
                reject("deadband_percent", "give either deadband or deadband_percent, not both")
            } else if !(0...100).contains(deadbandPercent) {
                reject("deadband_percent", "must be within 0…100")
            } else if let range {
                // OPC UA Part 8 §6.2: a percent deadband is a share of the EU range.
                absoluteDeadband = (range.upperBound - range.lowerBound) * deadbandPercent / 100
            } else {
                reject("deadband_percent", "a percent deadband needs range: [low, high] in engineering units")
            }
        }
        if (deadband != nil || deadbandPercent != nil) && (type == .string || type == .bool) {
            reject(deadband != nil ? "deadband" : "deadband_percent", "deadband applies to numeric tags only")
        }
        let scaling = Scaling(scale: scale, offset: offset, conversionScale: conversion.scale,
                              conversionOffset: conversion.offset)
        let codes = readTagMap(reader, type: type, scaled: !scaling.isIdentity || publishUnit != nil)
        if codes.map != nil, unit != nil { reject("unit", "a mapped tag carries codes, not a quantity: remove unit") }
        guard valid, codes.valid else { return nil }
        return TagValueConfig(scaling: scaling, unit: publishUnit ?? unit,
                              absoluteDeadband: absoluteDeadband, range: range, codes: codes.map)
    }
}

/// Scaling and reporting settings shared by tags of every protocol.
public struct TagValueConfig: Sendable, Equatable {
    public var scaling: Scaling
    public var unit: String?
    public var absoluteDeadband: Double
    public var range: ClosedRange<Double>?
    /// The code map a `map:` names.
    public var codes: CodeMap? = nil
}
