import COpenSSL
import Foundation

/// AES-256-GCM authenticated encryption.
///
/// A sealed box is `nonce (12) || ciphertext || tag (16)`. The associated data binds a box to its context
/// (for example the link id and secret name), so a box copied to another row does not open there.
///
/// ```swift
/// let key = SecureRandom.bytes(32)
/// let box = try AESGCM.seal(Data("secret".utf8), key: key, associatedData: Data("link:1:token".utf8))
/// let plain = try AESGCM.open(box, key: key, associatedData: Data("link:1:token".utf8))
/// ```
public enum AESGCM {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16

    public static func seal(
        _ plaintext: some DataProtocol, key: some DataProtocol, associatedData: some DataProtocol = Data(),
        nonce: Data? = nil
    ) throws -> Data {
        let k = Array(key)
        guard k.count == keySize else { throw CryptoError("AES-256-GCM seal", reason: "the key must be 32 bytes, got \(k.count)") }
        let iv = Array(nonce ?? SecureRandom.bytes(nonceSize))
        guard iv.count == nonceSize else { throw CryptoError("AES-256-GCM seal", reason: "the nonce must be 12 bytes") }
        let pt = Array(plaintext)
        let aad = Array(associatedData)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, applinks_evp_ctrl_gcm_set_ivlen(), Int32(nonceSize), nil) == 1,
            EVP_EncryptInit_ex(ctx, nil, nil, k, iv) == 1
        else { throw CryptoError("AES-256-GCM init") }
        var outLen: Int32 = 0
        if !aad.isEmpty {
            guard EVP_EncryptUpdate(ctx, nil, &outLen, aad, Int32(aad.count)) == 1 else { throw CryptoError("AES-256-GCM aad") }
        }
        var ct = [UInt8](repeating: 0, count: pt.count + 16)
        var total: Int32 = 0
        if !pt.isEmpty {
            guard EVP_EncryptUpdate(ctx, &ct, &outLen, pt, Int32(pt.count)) == 1 else { throw CryptoError("AES-256-GCM encrypt") }
            total = outLen
        }
        let finalOK = ct.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(ctx, $0.baseAddress! + Int(total), &outLen) }
        guard finalOK == 1 else { throw CryptoError("AES-256-GCM final") }
        total += outLen
        var tag = [UInt8](repeating: 0, count: tagSize)
        guard EVP_CIPHER_CTX_ctrl(ctx, applinks_evp_ctrl_gcm_get_tag(), Int32(tagSize), &tag) == 1 else {
            throw CryptoError("AES-256-GCM tag")
        }
        return Data(iv + ct.prefix(Int(total)) + tag)
    }

    public static func open(_ box: some DataProtocol, key: some DataProtocol, associatedData: some DataProtocol = Data()) throws -> Data {
        let k = Array(key)
        guard k.count == keySize else { throw CryptoError("AES-256-GCM open", reason: "the key must be 32 bytes, got \(k.count)") }
        let b = Array(box)
        guard b.count >= nonceSize + tagSize else { throw CryptoError("AES-256-GCM open", reason: "the sealed box is truncated") }
        let iv = Array(b[0..<nonceSize])
        let ct = Array(b[nonceSize..<(b.count - tagSize)])
        var tag = Array(b[(b.count - tagSize)...])
        let aad = Array(associatedData)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, applinks_evp_ctrl_gcm_set_ivlen(), Int32(nonceSize), nil) == 1,
            EVP_DecryptInit_ex(ctx, nil, nil, k, iv) == 1
        else { throw CryptoError("AES-256-GCM init") }
        var outLen: Int32 = 0
        if !aad.isEmpty {
            guard EVP_DecryptUpdate(ctx, nil, &outLen, aad, Int32(aad.count)) == 1 else { throw CryptoError("AES-256-GCM aad") }
        }
        var pt = [UInt8](repeating: 0, count: ct.count + 16)
        var total: Int32 = 0
        if !ct.isEmpty {
            guard EVP_DecryptUpdate(ctx, &pt, &outLen, ct, Int32(ct.count)) == 1 else { throw CryptoError("AES-256-GCM decrypt") }
            total = outLen
        }
        guard EVP_CIPHER_CTX_ctrl(ctx, applinks_evp_ctrl_gcm_set_tag(), Int32(tagSize), &tag) == 1 else {
            throw CryptoError("AES-256-GCM tag")
        }
        let finalOK = pt.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(ctx, $0.baseAddress! + Int(total), &outLen) }
        ERR_clear_error()
        guard finalOK > 0 else {
            throw CryptoError("AES-256-GCM open", reason: "authentication failed: wrong key, wrong context, or tampered data")
        }
        total += outLen
        return Data(pt.prefix(Int(total)))
    }
}

/// scrypt (RFC 7914), for password hashing.
public enum Scrypt {
    public static func derive(
        password: some DataProtocol, salt: some DataProtocol, n: UInt64 = 1 << 15, r: UInt64 = 8,
        p: UInt64 = 1, length: Int = 32
    ) throws -> Data {
        let pw = Array(password)
        let s = Array(salt)
        var out = [UInt8](repeating: 0, count: length)
        let maxMem = 128 * n * r * p + 128 * r * p + 256 * r + (16 << 20)
        let ok = pw.withUnsafeBufferPointer { pp in
            s.withUnsafeBufferPointer { sp in
                pp.withMemoryRebound(to: CChar.self) { pc in
                    EVP_PBE_scrypt(pc.baseAddress, pc.count, sp.baseAddress, sp.count, n, r, p, maxMem, &out, length)
                }
            }
        }
        guard ok == 1 else { throw CryptoError("scrypt") }
        return Data(out)
    }
}
