import AppLinksHost
import AppLinksJSON
import AppLinksLocking
import Foundation
import Hummingbird
import NIOCore

/// `/rest/applinks/1.0/manifest` as sent, in JSON and in XML, made once and again only when the link types that are
/// enabled change: remote applications fetch it often, and building it reads every descriptor and encodes twice.
/// Everything else in it comes from the deployment's config and identity, which do not change while it runs.
final class ManifestCache: Sendable {
    private let deployment: Deployment
    private let made = Locked<(states: [String: Bool], json: ByteBuffer, xml: ByteBuffer)?>(nil)

    init(deployment: Deployment) { self.deployment = deployment }

    func response(for request: Request) -> Response {
        let (json, xml) = current()
        let accept = request.headers[.accept] ?? ""
        if accept.contains("xml") && !accept.contains("json") {
            return Response(status: .ok, headers: [.contentType: "application/xml; charset=utf-8"], body: .init(byteBuffer: xml))
        }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: json))
    }

    func current() -> (json: ByteBuffer, xml: ByteBuffer) {
        let states = deployment.linkTypeStates
        if let made = made.withLock({ $0 }), made.states == states { return (made.json, made.xml) }
        let manifest = Manifest(deployment: deployment)
        let json = ByteBuffer(bytes: (try? JSONCoding.encode(manifest)) ?? Data("{}".utf8))
        let xml = ByteBuffer(string: manifest.xml)
        made.withLock { $0 = (states, json, xml) }
        return (json, xml)
    }
}
