import AppLinksCore
import AppLinksLocking
import Foundation
import Logging
import NIOSSL
import ServiceLifecycle
import UnixSignals

/// The server's certificate chain and private key (`tls.certificate`, `tls.private_key`, PEM files). Each TLS
/// handshake takes the pair as it is now, so `SIGHUP` swaps in renewed files without dropping a connection.
public final class TLSCertificates: Sendable {
    struct Pair: @unchecked Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    let certificatePath: String
    let keyPath: String
    private let current: Locked<Pair>

    public init(certificate: String, privateKey: String) throws {
        certificatePath = certificate
        keyPath = privateKey
        current = Locked(try Self.read(certificate: certificate, privateKey: privateKey))
    }

    static func read(certificate: String, privateKey: String) throws -> Pair {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw AppLinksError(
                .config,
                "tls.certificate \(certificate) is not a readable PEM certificate (chain): \(error). Give the server's "
                    + "certificate, followed by its intermediates.", cause: error)
        }
        guard !chain.isEmpty else { throw AppLinksError(.config, "tls.certificate \(certificate) holds no certificate.") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
        } catch {
            throw AppLinksError(
                .config, "tls.private_key \(privateKey) is not a readable, unencrypted PEM private key: \(error).", cause: error)
        }
        return Pair(chain: chain, key: key)
    }

    /// When the server's own certificate (the first of the chain) expires.
    public var expiresAt: Date {
        Date(timeIntervalSince1970: TimeInterval(current.withLock { $0.chain[0].notValidAfter }))
    }

    /// Reads the files again; on any error the pair in use stays, and the error says why.
    public func reload() throws {
        let pair = try Self.read(certificate: certificatePath, privateKey: keyPath)
        current.withLock { $0 = pair }
    }

    /// A server configuration whose handshakes use the current pair.
    func serverConfiguration() -> TLSConfiguration {
        let pair = current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.sslContextCallback = { [self] _, promise in
            let now = current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = now.chain.map { .certificate($0) }
            override.privateKey = .privateKey(now.key)
            promise.succeed(override)
        }
        return configuration
    }
}

/// On `SIGHUP`: reads the TLS certificate and key again, and which link types are enabled, without a restart.
struct ReloadOnHangup: Service {
    let certificates: TLSCertificates?
    let reloadLinkTypes: @Sendable () async -> Void
    let config: ConfigReloader
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                await config.reload()
                if let certificates {
                    do {
                        try certificates.reload()
                        logger.notice("reloaded the TLS certificate and key", metadata: ["certificate": "\(certificates.certificatePath)"])
                    } catch {
                        logger.error("TLS certificate not reloaded; the one in use stays", metadata: ["error": "\(error)"])
                    }
                }
                await reloadLinkTypes()
            }
        }
    }
}
