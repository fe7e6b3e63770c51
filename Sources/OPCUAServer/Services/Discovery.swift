// Discovery service set (Part 4 §5.4): GetEndpoints, FindServers.
// Not implemented: FindServersOnNetwork, RegisterServer, RegisterServer2.

extension UAServerCore {
    static let transportProfile = "http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary"

    var applicationDescription: ApplicationDescription {
        ApplicationDescription(applicationUri: identity.applicationUri, productUri: identity.productUri,
                               applicationName: LocalizedText(identity.productName), applicationType: .server,
                               discoveryUrls: [config.endpointUrl])
    }

    var userTokenPolicies: [UserTokenPolicy] {
        var policies: [UserTokenPolicy] = []
        if config.anonymous { policies.append(UserTokenPolicy(policyId: "anonymous", tokenType: .anonymous)) }
        if !config.users.isEmpty {
            policies.append(UserTokenPolicy(policyId: "username", tokenType: .userName,
                                            securityPolicyUri: SecurityPolicy.none.uri))
        }
        return policies
    }

    var endpoints: [EndpointDescription] {
        [EndpointDescription(endpointUrl: config.endpointUrl, server: applicationDescription, serverCertificate: nil,
                             securityMode: .none, securityPolicyUri: SecurityPolicy.none.uri,
                             userIdentityTokens: userTokenPolicies, transportProfileUri: Self.transportProfile,
                             securityLevel: 0)]
    }

    func registerDiscovery() {
        register(UAIds.Encoding.getEndpointsRequest, UAIds.Encoding.getEndpointsResponse) {
            (request: GetEndpointsRequest, context) throws(ServiceError) in
            let wanted = request.profileUris
            let list = wanted.isEmpty ? self.endpoints : self.endpoints.filter { wanted.contains($0.transportProfileUri) }
            return GetEndpointsResponse(responseHeader: context.responseHeader(), endpoints: list)
        }
        register(UAIds.Encoding.findServersRequest, UAIds.Encoding.findServersResponse) {
            (request: FindServersRequest, context) throws(ServiceError) in
            let uris = request.serverUris.compactMap { $0 }
            let servers = uris.isEmpty || uris.contains(self.identity.applicationUri) ? [self.applicationDescription] : []
            return FindServersResponse(responseHeader: context.responseHeader(), servers: servers)
        }
    }
}
