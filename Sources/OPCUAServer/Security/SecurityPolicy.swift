import Crypto
import _CryptoExtras
import FoundationEssentials

/// The security policies Railgate offers (Part 7 §6.6; Part 6 §6.7 for how
/// they apply to UA Secure Conversation). Every primitive comes from
/// swift-crypto; this file only says which one each policy uses.
public enum SecurityPolicy: String, CaseIterable, Sendable {
    case none = "http://opcfoundation.org/UA/SecurityPolicy#None"
    case basic256Sha256 = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"
    case aes128Sha256RsaOaep = "http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep"
    case aes256Sha256RsaPss = "http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss"

    public var uri: String { rawValue }

    /// The name used in the configuration and in logs ("Basic256Sha256").
    public var name: String { String(rawValue.split(separator: "#").last ?? "None") }

    public init?(name: String) {
        guard let policy = Self.allCases.first(where: { $0.name.lowercased() == name.lowercased() }) else { return nil }
        self = policy
    }

    /// Bytes of the symmetric encryption key (AES-256 or AES-128).
    var encryptionKeyLength: Int { self == .aes128Sha256RsaOaep ? 16 : 32 }
    /// Bytes of the symmetric signing key (HMAC-SHA256).
    var signingKeyLength: Int { 32 }
    static let blockSize = 16
    static let symmetricSignatureLength = 32
    /// Bytes of the nonces exchanged in OpenSecureChannel.
    var nonceLength: Int { self == .none ? 0 : 32 }
    /// RSA key sizes the policy allows, bits.
    var keySizes: ClosedRange<Int> { 2048...4096 }

    /// Relative strength, for EndpointDescription.securityLevel.
    var securityLevel: UInt8 {
        switch self {
        case .none: 0
        case .aes128Sha256RsaOaep: 2
        case .basic256Sha256: 3
        case .aes256Sha256RsaPss: 4
        }
    }

    var asymmetricSignatureURI: String {
        self == .aes256Sha256RsaPss ? "http://opcfoundation.org/UA/security/rsa-pss-sha2-256"
            : "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    }

    var asymmetricEncryptionURI: String {
        self == .aes256Sha256RsaPss ? "http://opcfoundation.org/UA/security/rsa-oaep-sha2-256"
            : "http://www.w3.org/2001/04/xmlenc#rsa-oaep"
    }

    private var signaturePadding: _RSA.Signing.Padding { self == .aes256Sha256RsaPss ? .PSS : .insecurePKCS1v1_5 }
    private var encryptionPadding: _RSA.Encryption.Padding {
        self == .aes256Sha256RsaPss ? .PKCS1_OAEP_SHA256 : .PKCS1_OAEP
    }
    /// OAEP takes 2 × hash length + 2 bytes of each RSA block.
    private var oaepOverhead: Int { self == .aes256Sha256RsaPss ? 66 : 42 }

    // MARK: Asymmetric (RSA)

    func sign(_ data: some DataProtocol, with key: RSAPrivateKey) throws -> [UInt8] {
        Array(try key.signing.signature(for: SHA256.hash(data: data), padding: signaturePadding).rawRepresentation)
    }

    func verify(_ signature: some DataProtocol, of data: some DataProtocol, with key: RSAPublicKey) -> Bool {
        key.signing.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature),
                                     for: SHA256.hash(data: data), padding: signaturePadding)
    }

    /// Plain text bytes one RSA block carries with this policy's OAEP.
    func plainBlockSize(keyBytes: Int) -> Int { keyBytes - oaepOverhead }

    /// Encrypts block by block; `plaintext` must be a multiple of the plain block size.
    func encrypt(_ plaintext: [UInt8], for key: RSAPublicKey) throws -> [UInt8] {
        let block = plainBlockSize(keyBytes: key.bytes)
        guard plaintext.count % block == 0 else { throw SecurityError(.badInternalError, "RSA plain text not in whole blocks") }
        var out: [UInt8] = []
        out.reserveCapacity(plaintext.count / block * key.bytes)
        var start = 0
        while start < plaintext.count {
            out += try key.encryption.encrypt(plaintext[start..<start + block], padding: encryptionPadding)
            start += block
        }
        return out
    }

    func decrypt(_ ciphertext: some Collection<UInt8>, with key: RSAPrivateKey) throws(SecurityError) -> [UInt8] {
        let bytes = Array(ciphertext)
        guard !bytes.isEmpty, bytes.count % key.bytes == 0 else {
            throw SecurityError(.badSecurityChecksFailed, "RSA cipher text of \(bytes.count) bytes is not in \(key.bytes)-byte blocks")
        }
        var out: [UInt8] = []
        var start = 0
        while start < bytes.count {
            do {
                out += try key.encryption.decrypt(bytes[start..<start + key.bytes], padding: encryptionPadding)
            } catch {
                throw SecurityError(.badSecurityChecksFailed, "RSA decryption failed")
            }
            start += key.bytes
        }
        return out
    }

    // MARK: Symmetric

    /// P_SHA256 (RFC 5246 §5), the key derivation of Part 6 §6.7.5.
    static func pSHA256(secret: [UInt8], seed: [UInt8], count: Int) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        var a = Array(HMAC<SHA256>.authenticationCode(for: seed, using: key))
        var out: [UInt8] = []
        out.reserveCapacity(count + 32)
        while out.count < count {
            out += HMAC<SHA256>.authenticationCode(for: a + seed, using: key)
            a = Array(HMAC<SHA256>.authenticationCode(for: a, using: key))
        }
        return Array(out.prefix(count))
    }

    /// The keys one side uses for its messages. Part 6 §6.7.5: the client's
    /// are derived with the server nonce as secret and the client nonce as
    /// seed; the server's the other way round.
    func deriveKeys(secret: [UInt8], seed: [UInt8]) -> SymmetricKeys {
        let bytes = Self.pSHA256(secret: secret, seed: seed, count: signingKeyLength + encryptionKeyLength + Self.blockSize)
        return SymmetricKeys(signingKey: Array(bytes[0..<signingKeyLength]),
                             encryptionKey: Array(bytes[signingKeyLength..<signingKeyLength + encryptionKeyLength]),
                             iv: Array(bytes[(signingKeyLength + encryptionKeyLength)...]))
    }
}

/// One side's symmetric keys for one security token.
struct SymmetricKeys: Sendable {
    var signingKey: [UInt8]
    var encryptionKey: [UInt8]
    var iv: [UInt8]

    private var signing: SymmetricKey { SymmetricKey(data: signingKey) }
    private var encryption: SymmetricKey { SymmetricKey(data: encryptionKey) }

    func sign(_ data: some DataProtocol) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: signing))
    }

    func isValidSignature(_ signature: some DataProtocol, for data: some DataProtocol) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(Array(signature), authenticating: data, using: signing)
    }

    /// AES-CBC over whole blocks (the caller pads as Part 6 says).
    func encrypt(_ plaintext: [UInt8]) throws -> [UInt8] {
        Array(try AES._CBC.encrypt(plaintext, using: encryption, iv: AES._CBC.IV(ivBytes: iv), noPadding: true))
    }

    func decrypt(_ ciphertext: some Collection<UInt8>) throws(SecurityError) -> [UInt8] {
        let bytes = Array(ciphertext)
        guard bytes.count % SecurityPolicy.blockSize == 0 else {
            throw SecurityError(.badSecurityChecksFailed, "cipher text of \(bytes.count) bytes is not in 16-byte blocks")
        }
        do {
            return Array(try AES._CBC.decrypt(bytes, using: encryption, iv: AES._CBC.IV(ivBytes: iv), noPadding: true))
        } catch {
            throw SecurityError(.badSecurityChecksFailed, "AES decryption failed")
        }
    }
}

/// An RSA private key for both signing and decryption. Immutable once made;
/// BoringSSL's RSA operations may run on any thread.
public struct RSAPrivateKey: @unchecked Sendable {
    let signing: _RSA.Signing.PrivateKey
    let encryption: _RSA.Encryption.PrivateKey

    public init(derRepresentation der: [UInt8]) throws {
        signing = try _RSA.Signing.PrivateKey(derRepresentation: der)
        encryption = try _RSA.Encryption.PrivateKey(derRepresentation: der)
    }

    public init(pemRepresentation pem: String) throws {
        signing = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        encryption = try _RSA.Encryption.PrivateKey(derRepresentation: signing.derRepresentation)
    }

    init(_ signing: _RSA.Signing.PrivateKey) throws {
        self.signing = signing
        encryption = try _RSA.Encryption.PrivateKey(derRepresentation: signing.derRepresentation)
    }

    /// A new 2048-bit key.
    static func generate() throws -> RSAPrivateKey { try RSAPrivateKey(_RSA.Signing.PrivateKey(keySize: .bits2048)) }

    var bytes: Int { signing.keySizeInBits / 8 }
    var publicKey: RSAPublicKey { get throws { try RSAPublicKey(derRepresentation: Array(signing.publicKey.derRepresentation)) } }
}

/// An RSA public key for verifying and encryption (immutable, as above).
public struct RSAPublicKey: @unchecked Sendable {
    let signing: _RSA.Signing.PublicKey
    let encryption: _RSA.Encryption.PublicKey

    public init(derRepresentation der: [UInt8]) throws {
        signing = try _RSA.Signing.PublicKey(derRepresentation: der)
        encryption = try _RSA.Encryption.PublicKey(derRepresentation: der)
    }

    var bits: Int { signing.keySizeInBits }
    var bytes: Int { signing.keySizeInBits / 8 }
}

/// A security check that failed, with the StatusCode the client gets.
public struct SecurityError: Error, Sendable, CustomStringConvertible {
    public var status: StatusCode
    public var reason: String
    public init(_ status: StatusCode, _ reason: String) {
        self.status = status
        self.reason = reason
    }
    public var description: String { reason }
}
