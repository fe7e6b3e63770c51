import Crypto
import _CryptoExtras
import FoundationEssentials
import RailgateConfig

/// Salted scrypt hashes of OPC UA user passwords, in the PHC string form
/// `$scrypt$ln=14,r=8,p=1$<salt>$<hash>` (base64 without padding). The
/// configuration keeps only these; `railgate hash-password` makes them.
/// Cost: N = 2^14, r = 8 → 16 MiB and tens of milliseconds per login.
public enum PasswordHash {
    public static func make(_ password: String, logN: Int = 14, r: Int = 8, p: Int = 1) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let hash = try derive(Array(password.utf8), salt: salt, logN: logN, r: r, p: p)
        return "$scrypt$ln=\(logN),r=\(r),p=\(p)$\(base64(salt))$\(base64(hash))"
    }

    /// Whether `password` matches `text` (constant time in the comparison).
    public static func verify(_ password: [UInt8], against text: String) -> Bool {
        guard let parsed = PasswordHashFormat.parse(text),
              let hash = try? derive(password, salt: parsed.salt, logN: parsed.logN, r: parsed.r, p: parsed.p,
                                     count: parsed.hash.count) else { return false }
        return UAServerCore.constantTimeEqual(hash, parsed.hash)
    }

    static func derive(_ password: [UInt8], salt: [UInt8], logN: Int, r: Int, p: Int, count: Int = 32) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(from: password, salt: salt, outputByteCount: count, rounds: 1 << logN,
                                           blockSize: r, parallelism: p)
        return key.withUnsafeBytes { Array($0) }
    }

    static func base64(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}
