// Verification of signed OAuth 1.0 requests, next to the raw OpenSSL operation it rests on, in one run.
import AppLinksCrypto
import AppLinksOAuth1
import Benchmark
import Foundation

let benchmarks: @Sendable () -> Void = {
    // A thousand operations per sample: package-benchmark starts each sample of an async benchmark on a new
    // task from a dispatch queue, and a single few-microsecond operation per sample would measure a cold CPU.
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock], warmupIterations: 10, scalingFactor: .kilo, maxDuration: .seconds(3),
        maxIterations: 100_000)
    let key = try! RSAKey.generate(bits: 2048)
    let publicKey = try! RSAKey(publicKeyPEM: try! key.publicKeyPEM())
    let url = "https://jira.example.com/rest/api/2/issue/ABC-123?expand=names%2CrenderedFields&fields=summary%2Cstatus"
    let unsigned = OAuth1Request(method: "GET", url: url)
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func signed(_ signer: OAuth1Signer) -> OAuth1Request {
        let header = try! signer.authorizationHeader(
            for: unsigned, timestamp: Int(now.timeIntervalSince1970), nonce: "a1b2c3d4e5f6g7h8i9j0")
        return OAuth1Request(method: "GET", url: url, headers: [("Authorization", header)])
    }
    let rsaRequest = signed(OAuth1Signer(consumerKey: "jira:4451", method: .rsaSHA1, credential: .rsa(key), token: "access-token"))
    let hmacRequest = signed(
        OAuth1Signer(consumerKey: "jenkins", method: .hmacSHA1, credential: .secrets(consumer: "cs", token: "ts"), token: "tok"))
    let verifier = OAuth1Verifier()

    // The raw operation: one RSA-2048 PKCS#1 v1.5 SHA-1 verification through OpenSSL's EVP interface.
    let base = Data("GET&https%3A%2F%2Fjira.example.com%2Frest%2Fapi%2F2%2Fissue%2FABC-123&expand%3Dnames".utf8)
    let signature = try! key.sign(.sha1, base)
    Benchmark("baseline: OpenSSL RSA-2048 SHA-1 verify") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(publicKey.verify(.sha1, base, signature: signature)) }
    }

    Benchmark("OAuth 1.0 RSA-SHA1 request verification") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                try await verifier.verify(
                    rsaRequest, now: now, credential: { _, _, _ in .rsa(publicKey) }, nonceIsFresh: { _, _, _, _ in true }))
        }
    }

    Benchmark("OAuth 1.0 HMAC-SHA1 request verification") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                try await verifier.verify(
                    hmacRequest, now: now, credential: { _, _, _ in .secrets(consumer: "cs", token: "ts") },
                    nonceIsFresh: { _, _, _, _ in true }))
        }
    }

    // The parts of a verification, to show where its time goes.
    Benchmark("part: parse the request's parameters") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try hmacRequest.parameters()) }
    }
    let params = try! hmacRequest.parameters().all
    let uri = try! hmacRequest.baseStringURI()
    Benchmark("part: build the signature base string") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(OAuth1Request.baseString(method: "GET", uri: uri, parameters: params)) }
    }
    let hmacBase = OAuth1Request.baseString(method: "GET", uri: uri, parameters: params)
    let hmacSignature = params.first { $0.0 == "oauth_signature" }!.1
    Benchmark("part: check an HMAC-SHA1 signature") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                OAuth1SignatureMethod.hmacSHA1.verify(
                    baseString: hmacBase, signature: hmacSignature, with: .secrets(consumer: "cs", token: "ts")))
        }
    }
}
