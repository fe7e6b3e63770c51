// Discovery service set (Part 4 §5.4): GetEndpoints, FindServers.
// Not implemented: FindServersOnNetwork, RegisterServer, RegisterServer2.

extension UAServerCore {
    static let transportProfile = "http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary"

    var applicationDescription: ApplicationDescription {
        ApplicationDescription(applicationUri: identity.applicationUri, productUri: identity.productUri,
                               applicationName: LocalizedText(identity.productName), applicationType: .server,
                               discoveryUrls: [config.endpointUrl])
    }

    /// The user token policies of an endpoint. A password travels encrypted
    /// with the endpoint's policy; on a None endpoint with the strongest
    /// secure policy offered (in clear text only when the server has no
    /// certificate).
    func userTokenPolicies(for policy: SecurityPolicy) -> [UserTokenPolicy] {
        var policies: [UserTokenPolicy] = []
        if config.anonymous { policies.append(UserTokenPolicy(policyId: "anonymous", tokenType: .anonymous)) }
        if !config.users.isEmpty {
            let passwordPolicy = policy != .none ? policy : (passwordPolicyForNone ?? SecurityPolicy.none)
            policies.append(UserTokenPolicy(policyId: "username_\(passwordPolicy.name)", tokenType: .userName,
                                            securityPolicyUri: passwordPolicy.uri))
        }
        return policies
    }

    /// The policy that encrypts passwords sent over a None channel.
    var passwordPolicyForNone: SecurityPolicy? {
        guard security.certificate != nil else { return nil }
        return security.policies.filter { $0 != .none }.max { $0.securityLevel < $1.securityLevel }
    }

    var endpoints: [EndpointDescription] {
        var list: [EndpointDescription] = []
        for policy in security.policies {
            for mode in policy == .none ? [MessageSecurityMode.none] : security.modes {
                list.append(EndpointDescription(
                    endpointUrl: config.endpointUrl, server: applicationDescription,
                    serverCertificate: security.certificate?.der, securityMode: mode, securityPolicyUri: policy.uri,
                    userIdentityTokens: userTokenPolicies(for: policy), transportProfileUri: Self.transportProfile,
                    securityLevel: policy.securityLevel * 2 + (mode == .signAndEncrypt ? 1 : 0)))
            }
        }
        return list
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
