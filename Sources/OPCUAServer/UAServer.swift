import Logging
import NIOCore
import NIOPosix
import RailgateConfig
import RailgateCore

/// The OPC UA server: UA-TCP on SwiftNIO with one event loop thread
/// (`rg-opcua`) that runs every connection, session and subscription.
public final class UAServer: @unchecked Sendable {
    public let core: UAServerCore
    private let group: MultiThreadedEventLoopGroup
    private var channel: (any Channel)?
    private let logger: Logger

    /// Builds the address space from the gateway model; does not listen yet.
    public init(config: OPCUAConfig, model: GatewayModel, identity: ServerIdentity, writes: WriteRouter?, logger: Logger) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        loop.execute { Clock.nameCurrentThread("rg-opcua") }
        var builder = AddressSpaceBuilder()
        let gateway = builder.addGateway(model)
        builder.addNamespace0(identity: identity, objects: [gateway.top])
        let space = builder.build(table: model.table, tagNodes: gateway.tagNodes)
        core = UAServerCore(config: config, addressSpace: space, identity: identity, eventLoop: loop,
                            writes: writes, logger: logger)
        self.logger = logger
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
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(UAChunkDecoder(maxChunkSize: TransportLimits.server.receiveBufferSize)))
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
        try? channel?.close().wait()
        try? core.eventLoop.submit { self.core.stop() }.wait()
        try? group.syncShutdownGracefully()
    }
}
