import AppLinksCore
import AppLinksLocking
import AppLinksTracing
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Tracing

/// Outbound HTTP for plugins (the host API's `http_request`), on AsyncHTTPClient.
///
/// Every request resolves its host once, checks every address against the address policy, and connects to one
/// of the addresses it checked, with the host name kept for `Host` and TLS SNI: a name that resolves elsewhere a
/// moment later (DNS rebinding) cannot redirect the connection. Redirects are followed here, not by the
/// client, so that each hop goes through the same checks.
///
/// Transport failures are classified into the status vocabulary's network error types, so that a plugin can
/// report NETWORK_ERROR/CONNECTION_REFUSED and the like without parsing error strings itself.
public struct HTTPService: Sendable {
    public static let maxBodyBytes = 16 * 1024 * 1024
    public static let maxRedirects = 5
    /// What every outbound request says it is, so that a remote's admin can tell AppLinks in their logs.
    public static let userAgent = "AppLinks/\(Deployment.version)"

    /// A refused connection is reported at once. AsyncHTTPClient would otherwise retry connecting until the
    /// request's deadline, so a stopped remote would cost every status check and wizard step its whole timeout
    /// and be reported as a timeout, not as the refusal it is.
    private static func configuration(connectingTo pinned: [String: String]) -> HTTPClient.Configuration {
        var c = HTTPClient.Configuration(redirectConfiguration: .disallow)
        c.connectionPool.retryConnectionEstablishment = false
        c.dnsOverride = pinned
        c.httpVersion = .http1Only
        // The request's span is ``TraceSpans``' own, which leaves the query (where a token may be) out of the span
        // and is the only one to send a traceparent: two would make the remote ignore both.
        c.tracing.tracer = nil
        return c
    }

    /// Requests to IP literals need no pinning and share one client.
    private static let shared = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration(connectingTo: [:]))

    public var allowPrivateAddresses: Bool
    /// The addresses a host name stands for, 4 or 16 bytes each: the system's resolver, or a test's.
    let resolve: @Sendable (String) async throws -> [[UInt8]]
    /// Why an address may not be reached, or nil: ``AddressPolicy/classify(_:)``, or a test's.
    let policy: @Sendable ([UInt8]) -> String?

    public init(allowPrivateAddresses: Bool = false) {
        self.init(
            allowPrivateAddresses: allowPrivateAddresses,
            resolve: { name in try await BlockingThreadPool.shared.run { AddressPolicy.addresses(name) } },
            policy: AddressPolicy.classify)
    }

    init(
        allowPrivateAddresses: Bool, resolve: @escaping @Sendable (String) async throws -> [[UInt8]],
        policy: @escaping @Sendable ([UInt8]) -> String?
    ) {
        self.allowPrivateAddresses = allowPrivateAddresses
        self.resolve = resolve
        self.policy = policy
    }

    public func execute(_ request: HostHTTPRequest) async throws -> HostHTTPResponse {
        var current = request
        for _ in 0...Self.maxRedirects {
            let response = try await executeOnce(current)
            guard request.followRedirects, [301, 302, 303, 307, 308].contains(response.status),
                let location = response.headers.first(where: { $0.count == 2 && $0[0].lowercased() == "location" })?[1],
                let next = URL(string: location, relativeTo: URL(string: current.url))?.absoluteURL.absoluteString
            else { return response }
            // 303, and 301 or 302 after a POST, continue as a GET without the body, as browsers do.
            if response.status == 303 || (current.method.uppercased() == "POST" && [301, 302].contains(response.status)) {
                current.method = "GET"
                current.bodyBase64 = nil
            }
            current.url = next
        }
        throw HTTPServiceError(.unexpectedResponse, "\(request.url) redirected more than \(Self.maxRedirects) times")
    }

    /// One request, in a client span when tracing is on: the remote's address and port, its status or its
    /// failure's status error type, and no query string (it may hold a token).
    private func executeOnce(_ request: HostHTTPRequest) async throws -> HostHTTPResponse {
        guard TraceSpans.enabled else { return try await untracedOnce(request) }
        let url = URL(string: request.url)
        let method = request.method.uppercased()
        var attributes: SpanAttributes = [:]
        attributes["http.request.method"] = method
        attributes["server.address"] = url?.host
        attributes["server.port"] = url?.port ?? (url?.scheme?.lowercased() == "https" ? 443 : 80)
        if let url, let scheme = url.scheme, let host = url.host,
            let path = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath
        {
            attributes["url.full"] = "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")\(path)"
        }
        return try await TraceSpans.span("\(method) \(url?.host ?? "?")", kind: .client, attributes: attributes) { span in
            do {
                let response = try await untracedOnce(request)
                span?.attributes["http.response.status_code"] = response.status
                if response.status >= 400 { span?.setStatus(SpanStatus(code: .error)) }
                return response
            } catch let e as HTTPServiceError {
                span?.attributes["error.type"] = e.type.rawValue
                throw e
            }
        }
    }

    /// One request, without following a redirect: resolved, checked, and sent to the address that was checked.
    private func untracedOnce(_ request: HostHTTPRequest) async throws -> HostHTTPResponse {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let rawHost = url.host, !rawHost.isEmpty
        else {
            throw HTTPServiceError(.unexpectedResponse, "'\(request.url)' is not an absolute http:// or https:// URL")
        }
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        if let why = AddressPolicy.obscuredIPv4(host) { throw AppLinksError(.invalidInput, "\(why) (\(request.url)).") }
        let literal = AddressRange.bytes(host)
        let addresses: [[UInt8]]
        if let literal { addresses = [literal] } else { addresses = try await resolve(host) }
        guard let first = addresses.first else {
            throw HTTPServiceError(.unknownHost, "the host name \(host) cannot be resolved")
        }
        if !allowPrivateAddresses, let refused = addresses.lazy.compactMap(policy).first {
            throw AppLinksError(
                .invalidInput,
                "\(host) is \(refused); this deployment does not reach loopback or private addresses. To allow them, "
                    + "set http.allow_private_addresses: true in config.yaml (or APPLINKS_HTTP_ALLOW_PRIVATE_ADDRESSES=true).")
        }
        var req = HTTPClientRequest(url: request.url)
        req.method = HTTPMethod(rawValue: request.method.uppercased())
        for h in request.headers where h.count == 2 { req.headers.add(name: h[0], value: h[1]) }
        if !req.headers.contains(name: "User-Agent") { req.headers.add(name: "User-Agent", value: Self.userAgent) }
        if let body = request.body { req.body = .bytes(ByteBuffer(bytes: body)) }
        TraceSpans.inject(into: &req.headers)
        let pinned =
            literal == nil
            ? HTTPClient(
                eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                configuration: Self.configuration(connectingTo: [host: AddressRange.text(first)])) : nil
        let client = pinned ?? Self.shared
        do {
            let response = try await client.execute(req, timeout: .milliseconds(Int64(max(1, request.timeoutMs))))
            let body = try await response.body.collect(upTo: Self.maxBodyBytes)
            try? await pinned?.shutdown()
            return HostHTTPResponse(
                status: Int(response.status.code), headers: response.headers.map { [$0.name, $0.value] },
                body: Data(body.readableBytesView))
        } catch {
            try? await pinned?.shutdown()
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
        if error is NIOTooManyBytesError || text.contains("payload") || text.contains("too large") {
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
