import AppLinksCore
import AppLinksLocking
import AppLinksStore
import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// `postgres://user[:password]@host[:port]/database[?pool_size=N&connect_timeout=S&host=/socket/dir]`, as libpq
/// writes it.
struct PostgresURL: CustomStringConvertible {
    var user: String
    var password: String?
    var host: String
    var port: Int
    var database: String
    var socketPath: String?
    var poolSize: Int
    /// How long connecting and logging in may take, in seconds (libpq's `connect_timeout`). Generous by default:
    /// a busy machine may take seconds to answer, and giving up early reports a running server as down.
    var connectTimeout: Int
    /// How long a request waits for the database before it is answered 503 (`wait_timeout`, seconds; ours, not libpq's).
    var waitTimeout: Int
    /// libpq's `sslmode`: `prefer` by default, as libpq's.
    var sslMode: SSLMode
    /// libpq's `sslrootcert`: the CA file that verifies the server; the system's trust store when absent.
    var sslRootCert: String?

    enum SSLMode: String, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    init(_ text: String) throws {
        guard let c = URLComponents(string: text), ["postgres", "postgresql"].contains(c.scheme ?? "") else {
            throw AppLinksError(
                .config, "'\(Redaction.url(text))' is not a PostgreSQL URL. Write postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.")
        }
        let query = Dictionary((c.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        user = c.user.flatMap { $0.removingPercentEncoding } ?? ProcessInfo.processInfo.environment["USER"] ?? "postgres"
        password = c.password?.removingPercentEncoding
        host = c.host.flatMap { $0.removingPercentEncoding } ?? ""
        port = c.port ?? 5432
        database = String(c.path.dropFirst()).removingPercentEncoding ?? ""
        poolSize = Int(query["pool_size"] ?? "") ?? 16
        connectTimeout = Int(query["connect_timeout"] ?? "") ?? 30
        waitTimeout = Int(query["wait_timeout"] ?? "") ?? 5
        guard let mode = SSLMode(rawValue: query["sslmode"] ?? "prefer") else {
            throw AppLinksError(
                .config,
                "sslmode '\(query["sslmode"] ?? "")' in the PostgreSQL URL is not one of "
                    + SSLMode.allCases.map(\.rawValue).joined(separator: ", ") + ". A cluster across machines should use verify-full.")
        }
        sslMode = mode
        sslRootCert = query["sslrootcert"].flatMap { $0.isEmpty ? nil : $0 }
        if let file = sslRootCert, !FileManager.default.isReadableFile(atPath: file) {
            throw AppLinksError(.config, "sslrootcert '\(file)' in the PostgreSQL URL cannot be read; give the CA certificate's path.")
        }
        if let dir = query["host"], dir.hasPrefix("/") {
            socketPath = "\(dir)/.s.PGSQL.\(port)"
        } else if host.isEmpty || host.hasPrefix("/") {
            socketPath = "\(host.isEmpty ? "/var/run/postgresql" : host)/.s.PGSQL.\(port)"
        }
        guard !database.isEmpty else {
            throw AppLinksError(.config, "The PostgreSQL URL names no database. Add it as the path: postgres://USER@HOST/DATABASE.")
        }
        guard (1...512).contains(poolSize) else { throw AppLinksError(.config, "pool_size in the PostgreSQL URL must be 1 to 512.") }
        guard (1...3600).contains(connectTimeout) else {
            throw AppLinksError(.config, "connect_timeout in the PostgreSQL URL must be 1 to 3600 seconds.")
        }
        guard (1...3600).contains(waitTimeout) else {
            throw AppLinksError(.config, "wait_timeout in the PostgreSQL URL must be 1 to 3600 seconds.")
        }
    }

    var description: String { "postgres://\(user)@\(socketPath ?? "\(host):\(port)")/\(database)" }

    /// One connection's configuration, outside the pool: for the first probe and for reading the schema.
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        if let socketPath {
            return .init(unixSocketPath: socketPath, username: user, password: password, database: database)
        }
        return .init(host: host, port: port, username: user, password: password, database: database, tls: try connectionTLS())
    }

    /// What libpq checks in each mode: `prefer` and `require` encrypt without checking the certificate (unless
    /// `require` has a `sslrootcert`, as in libpq), `verify-ca` checks the chain, `verify-full` the chain and the
    /// host name.
    func tlsConfiguration() -> TLSConfiguration {
        var c = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .verifyFull: c.certificateVerification = .fullVerification
        case .verifyCA: c.certificateVerification = .noHostnameVerification
        case .require where sslRootCert != nil: c.certificateVerification = .noHostnameVerification
        default: c.certificateVerification = .none
        }
        if let sslRootCert { c.trustRoots = .file(sslRootCert) }
        return c
    }

    func clientTLS() -> PostgresClient.Configuration.TLS {
        switch sslMode {
        case .disable: return .disable
        case .allow, .prefer: return .prefer(tlsConfiguration())
        case .require, .verifyCA, .verifyFull: return .require(tlsConfiguration())
        }
    }

    func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        switch sslMode {
        case .disable: return .disable
        case .allow, .prefer: return .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
        case .require, .verifyCA, .verifyFull: return .require(try NIOSSLContext(configuration: tlsConfiguration()))
        }
    }
}
