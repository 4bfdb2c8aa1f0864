import COpenSSL
import Foundation

/// An RSA key held by OpenSSL: a private key (which can also verify) or a public key alone.
///
/// ```swift
/// let key = try RSAKey.generate(bits: 2048)
/// let signature = try key.sign(.sha1, Data("base string".utf8))
/// let ok = try RSAKey(publicKeyPEM: key.publicKeyPEM()).verify(.sha1, Data("base string".utf8), signature: signature)
/// ```
public final class RSAKey: @unchecked Sendable {
    // OpenSSL 3 allows concurrent use of one EVP_PKEY for signing and verifying; it is never mutated after init.
    private let pkey: OpaquePointer
    public let isPrivate: Bool

    private init(pkey: OpaquePointer, isPrivate: Bool) {
        self.pkey = pkey
        self.isPrivate = isPrivate
    }

    deinit { EVP_PKEY_free(pkey) }

    public static func generate(bits: Int = 2048) throws -> RSAKey {
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nil) else { throw CryptoError("EVP_PKEY_CTX_new_id") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw CryptoError("EVP_PKEY_keygen_init") }
        guard EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(bits)) == 1 else { throw CryptoError("set RSA key size \(bits)") }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen(ctx, &key) == 1, let key else { throw CryptoError("EVP_PKEY_keygen") }
        return RSAKey(pkey: key, isPrivate: true)
    }

    public convenience init(privateKeyPEM pem: String) throws {
        let key = try Self.readPEM(pem) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA else {
            EVP_PKEY_free(key)
            throw CryptoError("read private key", reason: "the PEM holds a key that is not RSA")
        }
        self.init(pkey: key, isPrivate: true)
    }

    public convenience init(publicKeyPEM pem: String) throws {
        let key = try Self.readPEM(pem) { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA else {
            EVP_PKEY_free(key)
            throw CryptoError("read public key", reason: "the PEM holds a key that is not RSA")
        }
        self.init(pkey: key, isPrivate: false)
    }

    private static func readPEM(_ pem: String, _ read: (OpaquePointer) -> OpaquePointer?) throws -> OpaquePointer {
        let bytes = Array(pem.utf8)
        return try bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { throw CryptoError("BIO_new_mem_buf") }
            defer { BIO_free(bio) }
            guard let key = read(bio) else { throw CryptoError("read PEM") }
            return key
        }
    }

    public var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// PKCS#8 PEM of the private key.
    public func privateKeyPEM() throws -> String {
        guard isPrivate else { throw CryptoError("export private key", reason: "this is a public key") }
        return try writePEM { PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil) }
    }

    /// SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), the format Atlassian's consumer-info carries.
    public func publicKeyPEM() throws -> String {
        try writePEM { PEM_write_bio_PUBKEY($0, pkey) }
    }

    private func writePEM(_ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw CryptoError("PEM_write") }
        var ptr: UnsafeMutablePointer<CChar>?
        let len = applinks_bio_get_mem_data(bio, &ptr)
        guard let ptr, len > 0 else { throw CryptoError("BIO_get_mem_data") }
        return String(decoding: UnsafeRawBufferPointer(start: ptr, count: len), as: UTF8.self)
    }

    /// RSASSA-PKCS1-v1_5 signature.
    public func sign(_ algorithm: DigestAlgorithm, _ data: some DataProtocol) throws -> Data {
        guard isPrivate else { throw CryptoError("sign", reason: "a public key cannot sign") }
        guard let md = EVP_MD_CTX_new() else { throw CryptoError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(md) }
        guard EVP_DigestSignInit(md, nil, algorithm.md, nil, pkey) == 1 else { throw CryptoError("EVP_DigestSignInit") }
        let input = Array(data)
        var len = 0
        guard input.withUnsafeBytes({ EVP_DigestSign(md, nil, &len, $0.baseAddress, $0.count) }) == 1 else {
            throw CryptoError("EVP_DigestSign")
        }
        var sig = [UInt8](repeating: 0, count: len)
        guard input.withUnsafeBytes({ EVP_DigestSign(md, &sig, &len, $0.baseAddress, $0.count) }) == 1 else {
            throw CryptoError("EVP_DigestSign")
        }
        return Data(sig.prefix(len))
    }

    /// Verifies an RSASSA-PKCS1-v1_5 signature. A wrong signature is `false`, not an error.
    public func verify(_ algorithm: DigestAlgorithm, _ data: some DataProtocol, signature: some DataProtocol) -> Bool {
        guard let md = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(md) }
        guard EVP_DigestVerifyInit(md, nil, algorithm.md, nil, pkey) == 1 else { ERR_clear_error(); return false }
        let input = Array(data)
        let sig = Array(signature)
        let rc = input.withUnsafeBytes { ip in
            sig.withUnsafeBytes { sp in
                EVP_DigestVerify(
                    md, sp.baseAddress?.assumingMemoryBound(to: UInt8.self), sp.count, ip.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    ip.count)
            }
        }
        ERR_clear_error()
        return rc == 1
    }
}
