import AppLinksCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Outbound HTTP for plugins (the host API's `http_request`), on AsyncHTTPClient.
///
/// Transport failures are classified into the status vocabulary's network error types, so that a plugin can
/// report NETWORK_ERROR/CONNECTION_REFUSED and the like without parsing error strings itself.
public struct HTTPService: Sendable {
    public static let maxBodyBytes = 16 * 1024 * 1024

    private static let following = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration(.follow(max: 5, allowCycles: false)))
    private static let notFollowing = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration(.disallow))

    /// A refused connection is reported at once. AsyncHTTPClient would otherwise retry connecting until the
    /// request's deadline, so a stopped remote would cost every status check and wizard step its whole timeout
    /// and be reported as a timeout, not as the refusal it is.
    private static func configuration(_ redirects: HTTPClient.Configuration.RedirectConfiguration) -> HTTPClient.Configuration {
        var c = HTTPClient.Configuration(redirectConfiguration: redirects)
        c.connectionPool.retryConnectionEstablishment = false
        return c
    }

    public var allowPrivateAddresses: Bool

    public init(allowPrivateAddresses: Bool = false) { self.allowPrivateAddresses = allowPrivateAddresses }

    public func execute(_ request: HostHTTPRequest) async throws -> HostHTTPResponse {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            url.host?.isEmpty == false
        else {
            throw HTTPServiceError(.unexpectedResponse, "'\(request.url)' is not an absolute http:// or https:// URL")
        }
        if !allowPrivateAddresses, let host = url.host, let refused = try await AddressPolicy.nonPublicAddress(of: host) {
            throw AppLinksError(
                .invalidInput,
                "\(host) is \(refused); this deployment does not reach loopback or private addresses. To allow them, "
                    + "set http.allow_private_addresses: true in config.yaml (or APPLINKS_HTTP_ALLOW_PRIVATE_ADDRESSES=true).")
        }
        var req = HTTPClientRequest(url: request.url)
        req.method = HTTPMethod(rawValue: request.method.uppercased())
        for h in request.headers where h.count == 2 { req.headers.add(name: h[0], value: h[1]) }
        if let body = request.body { req.body = .bytes(ByteBuffer(bytes: body)) }
        let client = request.followRedirects ? Self.following : Self.notFollowing
        do {
            let response = try await client.execute(req, timeout: .milliseconds(Int64(max(1, request.timeoutMs))))
            let body = try await response.body.collect(upTo: Self.maxBodyBytes)
            return HostHTTPResponse(
                status: Int(response.status.code), headers: response.headers.map { [$0.name, $0.value] },
                body: Data(body.readableBytesView))
        } catch {
            throw Self.classify(error, url: request.url)
        }
    }

    /// Maps a transport error to the status vocabulary.
    static func classify(_ error: any Error, url: String) -> HTTPServiceError {
        let text = String(reflecting: error).lowercased()
        let host = URL(string: url)?.host ?? url
        if let e = error as? HTTPClientError, [.connectTimeout, .deadlineExceeded, .readTimeout, .writeTimeout].contains(e) {
            return HTTPServiceError(.timeout, "\(host) did not answer in time")
        }
        if text.contains("connection refused") || text.contains("econnrefused") || text.contains("errno: 111") {
            return HTTPServiceError(.connectionRefused, "\(host) refused the connection: nothing listens at \(url)")
        }
        if text.contains("dns") || text.contains("unknown host") || text.contains("name or service not known")
            || text.contains("nodename nor servname") || text.contains("no address") || text.contains("eai_")
        {
            return HTTPServiceError(.unknownHost, "the host name \(host) cannot be resolved")
        }
        if text.contains("hostname") && (text.contains("ssl") || text.contains("tls") || text.contains("validate")) {
            return HTTPServiceError(.sslHostnameUnmatched, "the TLS certificate of \(host) does not name that host")
        }
        if text.contains("certificate") || text.contains("ssl") || text.contains("tls") || text.contains("handshake") {
            return HTTPServiceError(.sslUntrusted, "the TLS certificate of \(host) is not trusted")
        }
        if text.contains("timeout") || text.contains("timed out") {
            return HTTPServiceError(.timeout, "\(host) did not answer in time")
        }
        if text.contains("payload") || text.contains("too large") {
            return HTTPServiceError(.unexpectedResponse, "the response of \(host) is larger than \(maxBodyBytes) bytes")
        }
        return HTTPServiceError(.unexpectedResponse, "the request to \(host) failed: \(error)")
    }
}

/// An outbound request that did not get an HTTP answer, with its status error type.
public struct HTTPServiceError: Error, Sendable, CustomStringConvertible {
    public var type: StatusErrorType
    public var message: String
    init(_ type: StatusErrorType, _ message: String) {
        self.type = type
        self.message = message
    }
    public var description: String { "\(type.rawValue): \(message)" }
}
