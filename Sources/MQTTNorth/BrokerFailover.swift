import RailgateConfig

/// Chooses the broker: the configured one first, then each backup in turn
/// once the current one has been unreachable for `failoverSeconds`.
/// A pure state machine: the publishing thread feeds it the connection
/// state and switches when it returns an endpoint.
struct BrokerFailover {
    let endpoints: [BrokerEndpoint]
    let failoverNs: Int64
    private(set) var current = 0
    private var downSince: Int64?

    init(_ config: MQTTConfig) {
        endpoints = [BrokerEndpoint(host: config.host, port: config.port)] + config.backups
        failoverNs = Int64(config.failoverSeconds) * 1_000_000_000
    }

    /// The endpoint to switch to now, if any.
    mutating func check(connected: Bool, now: Int64) -> BrokerEndpoint? {
        guard endpoints.count > 1 else { return nil }
        if connected {
            downSince = nil
            return nil
        }
        guard let since = downSince else {
            downSince = now
            return nil
        }
        guard now - since >= failoverNs else { return nil }
        current = (current + 1) % endpoints.count
        downSince = now
        return endpoints[current]
    }
}
