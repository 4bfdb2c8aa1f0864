import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import AppLinksPluginOAuth1
import Foundation

/// Status checks.
extension AtlassianOAuth1LinkType {
    func checkStatus(_ r: StatusRequest) async throws -> StatusResponse {
        let link = r.link
        if link.application.type == "generic" {
            return StatusResponse(.nonAtlassian, .genericLink, message: "A Generic application: its status cannot be checked from here.")
        }
        let base = link.rpcURL
        let manifest: RemoteManifest
        switch await RemoteApplication.detect(base, host: host) {
        case .unreachable(let type, let message):
            return StatusResponse(
                .networkError, type, message: "\(base) does not answer (\(message)); check that it is running and reachable from here.")
        case .noManifest(let why):
            return StatusResponse(.networkError, .unexpectedResponse, message: "\(why); check the link's URL.")
        case .refused(let why):
            return StatusResponse(.configError, .invalidConfig, message: why)
        case .found(let m, _, _):
            manifest = m
        }
        guard manifest.id == link.application.id else {
            return StatusResponse(
                .configError, .invalidConfig,
                message: "\(base) is now application \(manifest.id), not the linked \(link.application.id ?? "?"); relocate the link.")
        }
        if link.outgoingAuth.isEmpty {
            return StatusResponse(
                .connected, message: "\(manifest.name) answers; this side makes no authenticated requests.",
                applicationVersion: manifest.version)
        }
        // A signed 2LO call to the remote's status API, as Atlassian's own check makes it. The remote finds its
        // link by our application id.
        let me = try await host.instanceInfo()
        let url = base + "/rest/applinks/3.0/status/" + me.id
        let signed = try await Authorization(host: host).client().sign(OAuth1Request(method: "GET", url: url))
        let reply: HostHTTPResponse
        do {
            reply = try await host.http(
                HostHTTPRequest(url: url, headers: signed.headers.map { [$0.0, $0.1] } + [["Accept", "application/json"]]))
        } catch {
            return StatusResponse(.networkError, HostHTTPFailure.errorType(error), message: "\(error)")
        }
        switch reply.status {
        case 200:
            let answer = try? JSONValue.parse(reply.body)
            guard answer?["working"] == .bool(true) else {
                return StatusResponse(
                    .networkError, .unexpectedResponse, message: "\(manifest.name) says its side of the link is not working.")
            }
            func levels(_ key: String) -> Set<String>? {
                guard case .array(let a)? = answer?[key] else { return nil }
                return Set(a.compactMap(\.stringValue))
            }
            if let theirIncoming = levels("incoming_auth"), let theirOutgoing = levels("outgoing_auth"),
                theirIncoming != Set(link.outgoingAuth) || theirOutgoing != Set(link.incomingAuth)
            {
                return StatusResponse(
                    .configError, .authLevelMismatch,
                    message:
                        "This side and \(manifest.name) disagree on authentication; edit the link on either side so that both use the same levels."
                )
            }
            return StatusResponse(.connected, message: "Connected to \(manifest.name).", applicationVersion: manifest.version)
        case 404:
            return StatusResponse(
                .configError, .noRemoteApplink,
                message:
                    "\(manifest.name) has no link back to this instance. Create it there, or here: delete this link and create it again "
                    + "with \(manifest.name)'s administrator credentials.")
        case 503 where (try? JSONValue.parse(reply.body))?["error"]?["code"]?.stringValue == "link_type_disabled":
            return StatusResponse(
                .configError, .invalidConfig,
                message:
                    "\(manifest.name) has disabled the \(Self.descriptor.id) link type; its link to this instance is kept. Ask its "
                    + "administrator to enable the type again (`applinks plugins enable \(Self.descriptor.id)`); keep this link.")
        case 401:
            let problem =
                OAuth1Encoding.pairs(String(decoding: reply.body, as: UTF8.self)).first { $0.0 == "oauth_problem" }?.1
                ?? reply.header("WWW-Authenticate").flatMap { h in
                    h.range(of: "oauth_problem=\"").map { String(h[$0.upperBound...].prefix { $0 != "\"" }) }
                }
            let type: StatusErrorType =
                switch problem {
                case "timestamp_refused": .oauthTimestampRefused
                case "signature_invalid": .oauthSignatureInvalid
                default: .oauthProblem
                }
            return StatusResponse(
                .networkError, type,
                message:
                    "\(manifest.name) refused this instance's signed request (\(problem ?? "no oauth_problem")); check the clocks and the consumer registration."
            )
        default:
            return StatusResponse(
                .networkError, .unexpectedResponseStatus, message: "\(manifest.name)'s status API answered HTTP \(reply.status).")
        }
    }
}
