import Crypto
import _CryptoExtras
import FoundationEssentials
import Glibc
import RailgateCore
import SwiftASN1
import X509

/// The server's application instance certificate and its private key.
public struct ApplicationCertificate: Sendable {
    /// DER, as sent in endpoints, CreateSession and OpenSecureChannel.
    public let der: [UInt8]
    public let privateKey: RSAPrivateKey
    /// SHA-1 of the DER: how clients name the certificate they encrypted for.
    public let thumbprint: [UInt8]
    public let notValidAfter: Date

    public init(der: [UInt8], privateKey: RSAPrivateKey) throws {
        let certificate = try Certificate(derEncoded: der)
        guard let key = _RSA.Signing.PublicKey(certificate.publicKey),
              key.derRepresentation == privateKey.signing.publicKey.derRepresentation else {
            throw SecurityError(.badCertificateInvalid, "the certificate does not hold the private key's public key")
        }
        self.der = der
        self.privateKey = privateKey
        thumbprint = Array(Insecure.SHA1.hash(data: der))
        notValidAfter = certificate.notValidAfter
    }
}

/// The certificate folders of the OPC UA server (the layout of Part 12 §F.1,
/// as most OPC UA products use it):
///
///     <root>/own/certs/railgate.der     the server's certificate
///     <root>/own/private/railgate.pem   its private key (mode 0600)
///     <root>/trusted/certs/             client certificates and CAs trusted
///     <root>/issuers/certs/             CAs that may issue client certificates, not trusted themselves
///     <root>/rejected/certs/            client certificates refused, by thumbprint
///
/// The folders are read at every connection, so moving a file from
/// rejected/ to trusted/ takes effect at the client's next attempt.
public struct PKIStore: Sendable {
    public let root: URL

    public init(root: String) {
        self.root = URL(fileURLWithPath: root, isDirectory: true)
    }

    var ownCertificate: URL { root.appendingPathComponent("own/certs/railgate.der") }
    var ownKey: URL { root.appendingPathComponent("own/private/railgate.pem") }
    public var trustedFolder: URL { root.appendingPathComponent("trusted/certs", isDirectory: true) }
    var issuersFolder: URL { root.appendingPathComponent("issuers/certs", isDirectory: true) }
    public var rejectedFolder: URL { root.appendingPathComponent("rejected/certs", isDirectory: true) }

    /// Creates the folders that are missing.
    public func prepare() throws {
        let manager = FileManager.default
        for folder in ["own/certs", "own/private", "trusted/certs", "issuers/certs", "rejected/certs"] {
            try manager.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        chmod(root.appendingPathComponent("own/private").path, 0o700)
    }

    /// The server's certificate: the one in own/, or a new self-signed one
    /// (RSA 2048, SHA-256, 5 years; SubjectAltName with the application URI
    /// and host names, as Part 6 §6.2.2 asks) when there is none.
    /// Returns the certificate and whether it was created now.
    public func loadOrCreate(applicationUri: String, applicationName: String,
                             hostNames: [String]) throws -> (ApplicationCertificate, created: Bool) {
        let manager = FileManager.default
        if manager.fileExists(atPath: ownCertificate.path) || manager.fileExists(atPath: ownKey.path) {
            do {
                let der = try Self.readCertificate(ownCertificate)
                let key = try RSAPrivateKey(pemRepresentation: String(contentsOf: ownKey, encoding: .utf8))
                return (try ApplicationCertificate(der: der, privateKey: key), false)
            } catch {
                throw SecurityError(.badCertificateInvalid,
                                    "\(ownCertificate.path) or \(ownKey.path) cannot be used: \(error)")
            }
        }
        try prepare()
        let signingKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let now = Date()
        let name = try DistinguishedName {
            CommonName(applicationName)
            OrganizationName("Railgate")
        }
        var names: [GeneralName] = [.uniformResourceIdentifier(applicationUri)]
        for host in hostNames where !host.isEmpty {
            if let address = Self.ipAddressBytes(host) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: address[...])))
            } else {
                names.append(.dnsName(host))
            }
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(signingKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(5 * 365 * 86400),
            issuer: name, subject: name,
            signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, nonRepudiation: true, keyEncipherment: true,
                                  dataEncipherment: true, keyCertSign: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: Certificate.PublicKey(signingKey.publicKey))
            },
            issuerPrivateKey: Certificate.PrivateKey(signingKey))
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        let der = serializer.serializedBytes
        let key = try RSAPrivateKey(signingKey)
        try Self.writeSecret(signingKey.pemRepresentation, to: ownKey)
        try Data(der).write(to: ownCertificate, options: .atomic)
        return (try ApplicationCertificate(der: der, privateKey: key), true)
    }

    /// Whether a client's certificate may open a channel: nil when it may,
    /// else why not. A certificate is trusted when it (the same DER) is in
    /// trusted/, or when it was signed by a CA certificate in trusted/ (with
    /// issuers/ providing intermediates); it must be within its validity.
    public func check(_ der: [UInt8], now: Date = Date()) -> SecurityError? {
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: der)
        } catch {
            return SecurityError(.badCertificateInvalid, "the certificate cannot be decoded: \(error)")
        }
        guard certificate.notValidBefore <= now, now <= certificate.notValidAfter else {
            return SecurityError(.badCertificateTimeInvalid,
                                 "the certificate is valid from \(certificate.notValidBefore) to \(certificate.notValidAfter)")
        }
        let trusted = Self.certificates(in: trustedFolder)
        if trusted.contains(where: { $0.der == der }) { return nil }
        let authorities = trusted.map(\.certificate) + Self.certificates(in: issuersFolder).map(\.certificate)
        var current = certificate
        for _ in 0..<8 {
            guard let issuer = authorities.first(where: {
                $0.subject == current.issuer && $0.publicKey.isValidSignature(current.signature, for: current)
            }) else { break }
            if trusted.contains(where: { $0.certificate == issuer }) { return nil }
            current = issuer
        }
        return SecurityError(.badCertificateUntrusted, "the certificate is not trusted (\(certificate.subject))")
    }

    /// Most certificates rejected/ keeps: clients trying ever new
    /// certificates cannot fill the disk.
    static let maxRejected = 200

    /// Keeps a refused certificate in rejected/ for the technician to trust.
    /// Returns the file name (nil when not kept: the folder is full or unwritable).
    @discardableResult
    public func reject(_ der: [UInt8]) -> String? {
        let name = Self.fileName(der)
        try? FileManager.default.createDirectory(at: rejectedFolder, withIntermediateDirectories: true)
        let file = rejectedFolder.appendingPathComponent(name)
        guard !FileManager.default.fileExists(atPath: file.path) else { return name }
        let kept = (try? FileManager.default.contentsOfDirectory(atPath: rejectedFolder.path).count) ?? 0
        guard kept < Self.maxRejected else { return nil }
        return (try? Data(der).write(to: file, options: .atomic)) == nil ? nil : name
    }

    /// The certificates in rejected/ or trusted/: (file name, subject, thumbprint).
    public func list(_ folder: URL) -> [(file: String, subject: String, thumbprint: String)] {
        Self.certificates(in: folder).map {
            ($0.file, "\($0.certificate.subject)", hexText(Insecure.SHA1.hash(data: $0.der)))
        }.sorted { $0.file < $1.file }
    }

    /// Moves the rejected certificate whose file name or thumbprint starts
    /// with `prefix` (at least 8 characters) to trusted/. Returns its file name.
    public func trust(_ prefix: String) throws(SecurityError) -> String {
        let wanted = prefix.lowercased()
        guard wanted.count >= 8 else { throw SecurityError(.badInvalidArgument, "give at least 8 characters of the thumbprint") }
        let matches = list(rejectedFolder).filter { $0.file.lowercased().hasPrefix(wanted) || $0.thumbprint.hasPrefix(wanted) }
        guard matches.count == 1, let match = matches.first else {
            throw SecurityError(.badInvalidArgument, matches.isEmpty ? "no rejected certificate \(prefix)"
                                    : "\(prefix) names \(matches.count) rejected certificates")
        }
        do {
            try FileManager.default.createDirectory(at: trustedFolder, withIntermediateDirectories: true)
            try FileManager.default.moveItem(at: rejectedFolder.appendingPathComponent(match.file),
                                             to: trustedFolder.appendingPathComponent(match.file))
        } catch {
            throw SecurityError(.badInternalError, "cannot move \(match.file) to \(trustedFolder.path): \(error)")
        }
        return match.file
    }

    // MARK: Files

    static func fileName(_ der: [UInt8]) -> String { hexText(Insecure.SHA1.hash(data: der)) + ".der" }

    /// DER or PEM certificate files of a folder; unreadable files are skipped.
    static func certificates(in folder: URL) -> [(file: String, der: [UInt8], certificate: Certificate)] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.compactMap { file in
            guard let der = try? readCertificate(folder.appendingPathComponent(file)),
                  let certificate = try? Certificate(derEncoded: der) else { return nil }
            return (file, der, certificate)
        }
    }

    static func readCertificate(_ url: URL) throws -> [UInt8] {
        let data = try Data(contentsOf: url)
        if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN CERTIFICATE-----") {
            return try PEMDocument(pemString: text).derBytes
        }
        return Array(data)
    }

    static func writeSecret(_ text: String, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw SecurityError(.badInternalError, "cannot write \(url.path): errno \(errno)") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else {
            throw SecurityError(.badInternalError, "cannot write \(url.path): errno \(errno)")
        }
    }

    static func ipAddressBytes(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }
}
