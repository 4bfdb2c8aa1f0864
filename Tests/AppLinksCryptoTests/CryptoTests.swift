import AppLinksCrypto
import Foundation
import Testing

/// Known-answer tests: every expected value comes from a published test vector or from the `openssl` CLI,
/// never from this library.
@Suite("Crypto known answers")
struct CryptoTests {
    @Test("SHA-1 and SHA-256 (FIPS 180 examples)")
    func digests() {
        #expect(Digest.sha1(Data("abc".utf8)).hexString == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Digest.sha256(Data("abc".utf8)).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256(Data()).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("PKCE S256 (RFC 7636 appendix B) is base64url(SHA-256(verifier))")
    func pkce() {
        let challenge = Digest.sha256(Data("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".utf8)).base64URLEncodedString()
        #expect(challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }

    @Test("HMAC-SHA1 (RFC 2202) and HMAC-SHA256 (RFC 4231)")
    func hmac() {
        #expect(
            HMAC.authenticate(.sha1, key: Data("Jefe".utf8), data: Data("what do ya want for nothing?".utf8)).hexString
                == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        #expect(
            HMAC.authenticate(.sha256, key: Data("Jefe".utf8), data: Data("what do ya want for nothing?".utf8)).hexString
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(
            HMAC.authenticate(.sha1, key: Data(repeating: 0x0b, count: 20), data: Data("Hi There".utf8)).hexString
                == "b617318655057264e28bc0b6fb378c8ef146be00")
        // An empty key is legal in OAuth 1.0 PLAINTEXT/HMAC with no secrets.
        #expect(HMAC.authenticate(.sha1, key: Data(), data: Data()).hexString == "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d")
    }

    @Test("OAuth 1.0 HMAC-SHA1 signature of RFC 5849's example base string")
    func oauthSignature() {
        let base =
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        #expect(
            HMAC.authenticate(.sha1, key: Data("j49sk3j29djd&dh893hdasih9".utf8), data: Data(base.utf8)).base64EncodedString()
                == "r6/TJjbCOr97/+UU0NsvSne7s5g=")
    }

    @Test("AES-256-GCM (NIST GCM test case 14) and tamper detection")
    func aesGCM() throws {
        let key = Data(repeating: 0, count: 32)
        let box = try AESGCM.seal(Data(repeating: 0, count: 16), key: key, nonce: Data(repeating: 0, count: 12))
        #expect(box.hexString == "000000000000000000000000" + "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919")
        #expect(try AESGCM.open(box, key: key) == Data(repeating: 0, count: 16))
        let random = SecureRandom.bytes(32)
        let sealed = try AESGCM.seal(Data("secret".utf8), key: random, associatedData: Data("link:1:token".utf8))
        #expect(try AESGCM.open(sealed, key: random, associatedData: Data("link:1:token".utf8)) == Data("secret".utf8))
        #expect(throws: CryptoError.self) { try AESGCM.open(sealed, key: random, associatedData: Data("link:2:token".utf8)) }
        var flipped = sealed
        flipped[14] ^= 1
        #expect(throws: CryptoError.self) { try AESGCM.open(flipped, key: random, associatedData: Data("link:1:token".utf8)) }
        #expect(throws: CryptoError.self) { try AESGCM.open(sealed.prefix(10), key: random) }
        #expect(throws: CryptoError.self) { try AESGCM.seal(Data(), key: Data(count: 16)) }
        // Two seals of one plaintext differ: the nonce is random.
        #expect(try AESGCM.seal(Data("x".utf8), key: random) != AESGCM.seal(Data("x".utf8), key: random))
    }

    @Test("scrypt (RFC 7914 section 12)")
    func scrypt() throws {
        let out = try Scrypt.derive(password: Data("password".utf8), salt: Data("NaCl".utf8), n: 1024, r: 8, p: 16, length: 64)
        #expect(
            out.hexString
                == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        )
    }

    static let katPrivate = """
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDEh+pk8X9WOpqB
        U3+yCVU9xtm0UgBU8autpC/lBSc/08H/wFc8wwHWwGKGKNY3rw90sPo9aL+bZHKH
        yVas2G77GjHdawFQOFkxmWTrG69E9wVfQrj6jauUasoHfBdpidXcJZu6R16jN1TL
        aBzL87/zMgH9gUhZFmG7iVn2BJEG2FOJadnmBNnSA8qQpKbjT9YBUZ6jQc1jMqpJ
        PMn07w64IiV3xkke6yilRY1Ws9wTD5wkt5IcGkFHUMRDffEyQ5KoTFt99anHhLP/
        7auIcZU6+/5tTCMzxzTu/JDWl/UJppj3Vt9CF+fXMY/jDiy8sgtJhhdLdJvkS+/K
        xKEAcwFBAgMBAAECggEAGH4uXX517dGPqiS1fkMYwSJYRTdvhGaajGFRGUAdSkB6
        NeUbEi7k+qY/GSR7fxTVjqfURgU5FPUNq4PRhijSmv+CnatNbnmZTxvEhqMMgsIs
        5JiAjHRNwQlWjJx/3/auRRmYSPzGS/3UNuXuqdHi1xyhQB5lvXmTPE+zuxwKVYF2
        LeB5SjhQdKFJPkCRpowGTtcEV+hYgywcgcvXLYxUI53YYVg1DWAm7U7/mpUZafrj
        s/oEKNtE+QrIp0q1Ubgl8t++sV4Vye3dT4bBKwpx4/WJq7MVlG0CjNO/F66TXHOy
        DyaMqI1UWMbYtTDwcjEvLyIYvUUC2UYmydNwKZl3WQKBgQDhegcX7rOnibq9MQ9E
        pXD9EoOnhUxZlrkqbtM3lI13/ErO4h/0ALn/gy5mw6CIiTy0vdy6s+HQ8UoqiE8j
        p3Vowd6Ii57vJidrayEC9xcw8auzyLcrO65+hkeEdXvVfG3fLG1ksvg8j1CrJh4w
        Stl4eTdIwgzsV5DsmiFcZdqmGQKBgQDfIsNLKkYtfBORpgiMvlFJQ3PYANzGpG8C
        bZzqsYtcDZS53sJSQ1rVdKqloDSz/ai1zCQ9Ocuk1ITmXvSoXRCVJfGn1JjZvvOY
        KEl7F1mOMwHf31qyWPvLkyH+AbwhFiuWsmjyLm4c14fE+XDlilkxxtpb2x7tLmUn
        SlEECx4JaQKBgCeOCbqIFJo6jjjsZ1pKj7TFz7TOrKM2zssD4Cfq9ppq9xCuGJ7s
        lbSeZcB/ZyUstiqa+CMEtYO7IKCvgvqlQPKcuBZKMBqSHe45P/RONpJOgymp94At
        GyJ1GgzBs3SzPG8fUx2MTAILvkIYEMm2B8qbsTghWrUHc5QeQeX8tEvZAoGBALDC
        jQpiNq2ZeLcMXAGCUkpDUOVv6XTCld3Kj1+rvcXyTDrhp/YavT4S6YvC2X0sGBXL
        3XlS62trnswPtKga8SP1pvVYiK0Vg0qpv2vvF1Z6OaXq/aICs5SUvXzGSw26zlTW
        iCQxe7EFW9xB7Zkoe3ffGuNhNaKV+jOhv4QAeo7hAoGAXzSxMnNdY6h9SfFmCSAB
        OelDsWzxOqTY6UezG3KhkYB0TpjqBaUQfSKD5OB3LjnV06EeRRsJ/3w0QTEb9JMZ
        vl+Vahk4E4Caz4e9YHTT9VXaKBVC1hVUKfRwkSZTX5NK5j0yCuEUEg5ka4QdQpMx
        DZ1V1ciNTLErQEEguU++xrQ=
        -----END PRIVATE KEY-----
        """
    static let katPublic = """
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxIfqZPF/VjqagVN/sglV
        PcbZtFIAVPGrraQv5QUnP9PB/8BXPMMB1sBihijWN68PdLD6PWi/m2Ryh8lWrNhu
        +xox3WsBUDhZMZlk6xuvRPcFX0K4+o2rlGrKB3wXaYnV3CWbukdeozdUy2gcy/O/
        8zIB/YFIWRZhu4lZ9gSRBthTiWnZ5gTZ0gPKkKSm40/WAVGeo0HNYzKqSTzJ9O8O
        uCIld8ZJHusopUWNVrPcEw+cJLeSHBpBR1DEQ33xMkOSqExbffWpx4Sz/+2riHGV
        Ovv+bUwjM8c07vyQ1pf1CaaY91bfQhfn1zGP4w4svLILSYYXS3Sb5EvvysShAHMB
        QQIDAQAB
        -----END PUBLIC KEY-----
        """

    static let katSignatureSHA1 = Data(
        base64Encoded:
            "pIO9xxiO+y0Y+QrylGQqPawdes9OpJJBAHHSKtcTlkW5DXfjmzzFNcoUYNJS+FlxVbPgpg8ltl5M8SRiOjVhY/XBZOHmA3TPp5W2Qu7aLi3kXIWKBSkeRwNle3eWWCHxlM/8RX2Nc1J6RCIyA7xJORDILi691B9ER3nisBjQzLYfklnibpFMzudQjvcuDudzQLkO8k/5hsrPZbRoNRTmcPeUrtvWfHRNpEq6pMFTFgNx/FkbNP6f0l+GBVgETSL2zpUpPEhtdCwo8QJEpyRR4JUWf9WmzoIntGrXdn8n4BjgQ/n9JnMWqSNtOtAQEZpJQcCG7efORayVKZA15pTq9A=="
    )!

    @Test("RSA PKCS#1 v1.5 signatures match the openssl CLI's, and verify")
    func rsaKnownAnswer() throws {
        let key = try RSAKey(privateKeyPEM: Self.katPrivate)
        let message = Data("AppLinks known answer".utf8)
        #expect(
            try key.sign(.sha1, message).base64EncodedString()
                == "pIO9xxiO+y0Y+QrylGQqPawdes9OpJJBAHHSKtcTlkW5DXfjmzzFNcoUYNJS+FlxVbPgpg8ltl5M8SRiOjVhY/XBZOHmA3TPp5W2Qu7aLi3kXIWKBSkeRwNle3eWWCHxlM/8RX2Nc1J6RCIyA7xJORDILi691B9ER3nisBjQzLYfklnibpFMzudQjvcuDudzQLkO8k/5hsrPZbRoNRTmcPeUrtvWfHRNpEq6pMFTFgNx/FkbNP6f0l+GBVgETSL2zpUpPEhtdCwo8QJEpyRR4JUWf9WmzoIntGrXdn8n4BjgQ/n9JnMWqSNtOtAQEZpJQcCG7efORayVKZA15pTq9A=="
        )
        #expect(
            try key.sign(.sha256, message).base64EncodedString()
                == "MM1F/EI+8fUw/CBiABVPskEgnnuGJQW/UP/QxuC6uK3Qc01oRvb2bn3qqZNMjgqQJAi9hqkAoDrWuR1llPxJaQH54rK2t5s56KJJ6V6TA56AJEcimUSwr1b0AXg6AxLFjlA0odf8267xHhQumg8nb8Tv+XXBiS2zSIQF4sb6BCnSHDT8qytRqPoaWHCY0sjER4TftMFxx31l4PrOX3OF4i5Kdx4Hm7Yekc7v+k01lnztPdlSudDWsopWOk3CFziqEJW8yCeaLKmzQTbZGis9m29y4B/sKu/eMvNQeEb+3Urd9AQD2HY/eRhGxV2rrrUkfAy3YKl60DT3nsco/a+SjA=="
        )
        let pub = try RSAKey(publicKeyPEM: Self.katPublic)
        #expect(
            pub.verify(
                .sha1, message,
                signature: Self.katSignatureSHA1))
        #expect(
            !pub.verify(
                .sha256, message,
                signature: Self.katSignatureSHA1))
        #expect(
            !pub.verify(
                .sha1, Data("AppLinks known answeR".utf8),
                signature: Self.katSignatureSHA1))
        #expect(try key.publicKeyPEM().trimmingCharacters(in: .whitespacesAndNewlines) == Self.katPublic)
        #expect(throws: CryptoError.self) { try pub.sign(.sha1, message) }
    }

    @Test("RSA-2048 generation, PEM round trip, and bad PEM")
    func rsaGenerate() throws {
        let key = try RSAKey.generate(bits: 2048)
        #expect(key.bits == 2048)
        let again = try RSAKey(privateKeyPEM: try key.privateKeyPEM())
        let sig = try again.sign(.sha256, Data("m".utf8))
        #expect(try RSAKey(publicKeyPEM: key.publicKeyPEM()).verify(.sha256, Data("m".utf8), signature: sig))
        #expect(throws: CryptoError.self) { try RSAKey(privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----") }
        #expect(throws: CryptoError.self) { try RSAKey(publicKeyPEM: "") }
    }

    @Test("constant-time comparison and random bytes")
    func misc() {
        #expect(ConstantTime.equals(Data([1, 2, 3]), Data([1, 2, 3])))
        #expect(!ConstantTime.equals(Data([1, 2, 3]), Data([1, 2, 4])))
        #expect(!ConstantTime.equals(Data([1, 2]), Data([1, 2, 3])))
        #expect(ConstantTime.equals(Data(), Data()))
        #expect(SecureRandom.bytes(32).count == 32)
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
        #expect(SecureRandom.token().count == 43)
        #expect(Data(hexString: "00ff10") == Data([0, 255, 16]) && Data(hexString: "0g") == nil)
    }

    @Test("base64url matches Foundation's base64 with the URL alphabet and no padding, at every length up to 70")
    func base64URL() {
        for length in 0...70 {
            let data = SecureRandom.bytes(length)
            let expected = data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(data.base64URLEncodedString() == expected, "length \(length)")
        }
        #expect(Data([0xFB, 0xFF]).base64URLEncodedString() == "-_8")
    }
}
