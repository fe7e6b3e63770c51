import RailgateConfig
import RailgateCore

/// A one-off read for commissioning (the console's `diag modbus read`),
/// executed on the bus thread between cycles like a write.
public struct DiagnosticRead: Sendable {
    public var unit: Int
    public var table: ModbusTable
    public var start: Int
    public var count: Int
    /// Registers, or bits as 0/1; or why the read failed.
    public var completion: @Sendable (Result<[UInt16], DiagnosticReadError>) -> Void
}

public struct DiagnosticReadError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

extension BusPoller {
    /// Queues a read of `count` registers or bits at `start` (0-based) from `unit`.
    public func submitDiagnosticRead(unit: Int, table: ModbusTable, start: Int, count: Int,
                                     completion: @escaping @Sendable (Result<[UInt16], DiagnosticReadError>) -> Void) {
        let limit = table.isBits ? 2000 : 125
        guard (1...limit).contains(count), start >= 0, start <= 65536 - count else {
            return completion(.failure(DiagnosticReadError(description: "a \(table) read takes 1…\(limit) items within addresses 0…65535")))
        }
        guard isRunning else { return completion(.failure(DiagnosticReadError(description: "bus \(bus.name) is not running"))) }
        enqueue(DiagnosticRead(unit: unit, table: table, start: start, count: count, completion: completion))
    }

    /// Runs one queued diagnostic read on the bus thread.
    func execute(_ read: DiagnosticRead, on connection: ModbusConnection, registers: UnsafeMutablePointer<UInt16>,
                 bits: UnsafeMutablePointer<UInt8>) {
        let target = "bus \(bus.name) unit \(read.unit) \(read.table) \(read.start)…\(read.start + read.count - 1)"
        guard connection.isOpen else {
            return read.completion(.failure(DiagnosticReadError(description: "\(target): bus \(bus.name) is disconnected")))
        }
        if let error = connection.read(read.table, unit: read.unit, start: read.start, count: read.count,
                                       registers: registers, bits: bits) {
            if ModbusErrno.needsReconnect(error) { connection.close() } else { connection.flush() }
            return read.completion(.failure(DiagnosticReadError(
                description: "\(target): \(ModbusErrno.message(error)) (\(ModbusErrno.quality(error)))")))
        }
        let values = read.table.isBits
            ? (0..<read.count).map { UInt16(bits[$0]) }
            : (0..<read.count).map { registers[$0] }
        read.completion(.success(values))
    }
}
