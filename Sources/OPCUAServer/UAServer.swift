import FoundationEssentials
import Logging
import NIOCore
import NIOPosix
import RailgateConfig
import RailgateCore
import Synchronization

/// The OPC UA server: UA-TCP on SwiftNIO with one event loop thread
/// (`rg-opcua`) that runs every connection, session and subscription.
public final class UAServer: @unchecked Sendable {
    public let core: UAServerCore
    private let group: MultiThreadedEventLoopGroup
    private var channel: (any Channel)?
    /// Events may be raised (from any thread) until `stop` begins.
    let acceptsEvents = Atomic<Bool>(true)
    private let logger: Logger
    /// The certificate folders, when secured channels are configured.
    public let pki: PKIStore?

    /// Builds the address space from the gateway model and loads (or, the
    /// first time, creates) the application certificate when secured
    /// channels are configured; does not listen yet.
    /// - Parameter audit: records a security event (refused certificate,
    ///   failed activation, refused write) in the audit trail: event, user, details.
    public init(config: OPCUAConfig, model: GatewayModel, identity: ServerIdentity, writes: WriteRouter?,
                logger: Logger, audit: @escaping UAServerCore.Audit = { _, _, _ in }) throws {
        pki = config.security.map { PKIStore(root: $0.pkiDir) }
        let security = try Self.channelSecurity(config, identity: identity, logger: logger, audit: audit)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        loop.execute { Clock.nameCurrentThread("rg-opcua") }
        var builder = AddressSpaceBuilder()
        let gateway = builder.addGateway(model)
        let conditions = builder.addConditions(model, tagNodes: gateway.tagNodes, tagDevices: gateway.tagDevices)
        builder.addNamespace0(identity: identity, objects: [gateway.top], notifiers: gateway.devices)
        let space = builder.build(table: model.table, tagNodes: gateway.tagNodes, tagDevices: gateway.tagDevices,
                                  history: model.history, alarms: model.alarms, conditions: conditions,
                                  requiresReason: model.requiresReason)
        core = UAServerCore(config: config, addressSpace: space, identity: identity, eventLoop: loop,
                            writes: writes, logger: logger, security: security, audit: audit)
        self.logger = logger
    }

    /// The certificate, policies and modes of `opcua.security`; Security
    /// None only without it. An unknown client certificate is refused,
    /// kept in rejected/ and logged with its thumbprint.
    static func channelSecurity(_ config: OPCUAConfig, identity: ServerIdentity, logger: Logger,
                                audit: @escaping UAServerCore.Audit) throws -> ChannelSecurity {
        guard let settings = config.security else { return .noneOnly }
        let policies = settings.policies.compactMap { SecurityPolicy(name: $0) }
        let modes = settings.modes.map { $0 == "sign" ? MessageSecurityMode.sign : .signAndEncrypt }
        guard policies.contains(where: { $0 != .none }) else {
            return ChannelSecurity(certificate: nil, policies: policies, modes: modes, checkClient: { _ in nil })
        }
        let store = PKIStore(root: settings.pkiDir)
        var hosts = [config.endpointHost] + settings.certificateHosts
        if let name = Self.hostName(), !hosts.contains(name) { hosts.append(name) }
        let (certificate, created) = try store.loadOrCreate(applicationUri: identity.applicationUri,
                                                            applicationName: "\(identity.productName) \(identity.applicationUri)",
                                                            hostNames: hosts)
        let thumbprint = hexText(certificate.thumbprint)
        if created {
            logger.notice("OPC UA application certificate created", metadata: [
                "file": "\(store.ownCertificate.path)", "thumbprint": "\(thumbprint)", "uri": "\(identity.applicationUri)"])
        }
        if certificate.notValidAfter < Date() {
            logger.error("the OPC UA application certificate has expired; clients will refuse it",
                         metadata: ["file": "\(store.ownCertificate.path)", "expired": "\(certificate.notValidAfter)"])
        }
        return ChannelSecurity(certificate: certificate, policies: policies, modes: modes) { der in
            guard let problem = store.check(der) else { return nil }
            let file = store.reject(der)
            audit("opcua certificate rejected", "opcua client",
                  [("reason", problem.reason), ("file", file ?? "?"), ("status", "\(problem.status)")])
            logger.warning("OPC UA client certificate rejected", metadata: [
                "reason": "\(problem.reason)", "file": "\(file.map { store.rejectedFolder.appendingPathComponent($0).path } ?? "not kept: rejected/ holds \(PKIStore.maxRejected) certificates")",
                "trust": "opcua trust \(file.map { String($0.prefix(16)) } ?? "?")"])
            return problem
        }
    }

    static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Listens on `config.host:config.port`.
    public func start() throws {
        let core = self.core
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UAConnectionHandler(core: core))
                }
            }
        channel = try bootstrap.bind(host: core.config.host, port: core.config.port).wait()
        logger.info("OPC UA server listening", metadata: [
            "endpoint": "\(core.config.endpointUrl)", "bind": "\(core.config.host):\(core.config.port)",
            "nodes": "\(core.addressSpace.count)"])
    }

    /// The bound port (useful with port 0 in tests).
    public var port: Int? { channel?.localAddress?.port }

    public func stop() {
        // Writes of a bus kept running across a commit may finish later: their events are not for
        // this server any more, and its event loop is about to end. (Events raised before this
        // are queued on the loop and still go out below.)
        acceptsEvents.store(false, ordering: .releasing)
        try? channel?.close().wait()
        // Notifications still queued (the event of the commit that stops this server) go out as
        // the clients' next Publish requests come: each answers one subscription. At most 1 s.
        let deadline = Clock.monotonicNs() + 1_000_000_000
        while (try? core.eventLoop.submit({ self.core.flushNotifications() }).wait()) == true, Clock.monotonicNs() < deadline {
            usleep(20_000)
        }
        try? core.eventLoop.submit { self.core.stop() }.wait()
        try? group.syncShutdownGracefully()
    }
}
