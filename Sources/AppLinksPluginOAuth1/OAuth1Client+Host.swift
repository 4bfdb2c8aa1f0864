import AppLinksCore
import AppLinksOAuth1
import AppLinksPluginKit

extension HostHTTPRequest {
    /// An OAuth 1.0 request, signed or not, as the host's HTTP service sends it.
    public init(_ request: OAuth1Request, timeoutMs: Int = 10_000) {
        self.init(
            method: request.method, url: request.url, headers: request.headers.map { [$0.0, $0.1] },
            body: request.body.isEmpty ? nil : request.body, timeoutMs: timeoutMs)
    }
}

extension OAuth1Client {
    /// Sends the three legs through the host's HTTP service, which applies the deployment's address policy and
    /// timeouts to a plugin's outbound calls.
    public static func overHost(_ host: HostAPI) -> Transport {
        { request in
            let reply = try await host.http(HostHTTPRequest(request))
            return (reply.status, reply.body)
        }
    }
}
