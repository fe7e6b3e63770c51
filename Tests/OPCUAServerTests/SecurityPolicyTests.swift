import Foundation
import Testing
@testable import OPCUAServer

/// The cryptographic pieces of the secure channel, against independent
/// implementations' results (asyncua's p_sha256, Python's hashlib.scrypt).
struct SecurityPolicyTests {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    @Test func keyDerivationMatchesAsyncua() {
        // asyncua.crypto.uacrypto.p_sha256(bytes(range(32)), bytes(range(32, 64)), [32, 32, 16])
        let keys = SecurityPolicy.basic256Sha256.deriveKeys(secret: Array(0..<32), seed: Array(32..<64))
        #expect(keys.signingKey == Self.hex("b72593c43fee5fafa0256cd6bb904ff40c066a225db95f66dd744e20858a2220"))
        #expect(keys.encryptionKey == Self.hex("ddf75067e3d76ac714c08e24eabd85ff425d7f5fb25e6e083b94b174e29db89b"))
        #expect(keys.iv == Self.hex("c513e9172274d5ed54e52a3552901ae0"))
        // Aes128_Sha256_RsaOaep takes a 16-byte encryption key from the same stream.
        let short = SecurityPolicy.aes128Sha256RsaOaep.deriveKeys(secret: Array(0..<32), seed: Array(32..<64))
        #expect(short.encryptionKey == Array(keys.encryptionKey.prefix(16)))
    }

    @Test func paddingFillsWholeBlocksAndComesOff() throws {
        for length in 0..<40 {
            for extra in [false, true] {
                let padding = SecureChannel.padding(length: length, signature: 32, block: 16, extraByte: extra)
                #expect((length + padding.count + 32) % 16 == 0)
                let content = Array(repeating: UInt8(7), count: length + 8) + padding
                let stripped = try SecureChannel.removePadding(content[...], extraByte: extra)
                #expect(stripped.count == length + 8)
            }
        }
        // Padding bytes that do not all say the padding size are refused.
        #expect(throws: SecurityError.self) {
            try SecureChannel.removePadding([UInt8](repeating: 0, count: 8)[...] + [3, 3, 9, 3], extraByte: false)
        }
    }

    @Test func symmetricProtectionRoundTripsAndDetectsTampering() throws {
        let keys = SecurityPolicy.aes256Sha256RsaPss.deriveKeys(secret: Array(0..<32), seed: Array(32..<64))
        let plain = Array(0..<64).map(UInt8.init)
        let encrypted = try keys.encrypt(plain)
        let decrypted = try keys.decrypt(encrypted)
        #expect(encrypted != plain && decrypted == plain)
        let signature = keys.sign(plain)
        #expect(keys.isValidSignature(signature, for: plain))
        var tampered = plain
        tampered[5] ^= 1
        #expect(!keys.isValidSignature(signature, for: tampered))
    }

    @Test func asymmetricSignaturesAndEncryptionRoundTrip() throws {
        let key = try RSAPrivateKey.generate()
        let publicKey = try key.publicKey
        for policy in [SecurityPolicy.basic256Sha256, .aes128Sha256RsaOaep, .aes256Sha256RsaPss] {
            let data = Array("OpenSecureChannel".utf8)
            let signature = try policy.sign(data, with: key)
            #expect(signature.count == 256 && policy.verify(signature, of: data, with: publicKey))
            #expect(!policy.verify(signature, of: data + [0], with: publicKey))
            let block = policy.plainBlockSize(keyBytes: publicKey.bytes)
            let plain = Array(repeating: UInt8(0x5a), count: block * 2)
            let cipher = try policy.encrypt(plain, for: publicKey)
            let decrypted = try policy.decrypt(cipher, with: key)
            #expect(cipher.count == 512 && decrypted == plain)
        }
    }

    @Test func passwordHashesVerify() throws {
        // Made by `railgate hash-password`; Python's hashlib.scrypt gives the same hash.
        let stored = "$scrypt$ln=14,r=8,p=1$7jfzSVaN0+TCr7Q5GU5Mhw$TGz1kLaEdRDlNR4/zpp3OqCR1WJXwTsddqD1Z1yXxy8"
        #expect(PasswordHash.verify(Array("s3cret-pass".utf8), against: stored))
        #expect(!PasswordHash.verify(Array("s3cret-pasS".utf8), against: stored))
        #expect(!PasswordHash.verify(Array("s3cret-pass".utf8), against: "$scrypt$broken"))
        let fresh = try PasswordHash.make("another one", logN: 10)
        #expect(PasswordHash.verify(Array("another one".utf8), against: fresh))
    }
}
