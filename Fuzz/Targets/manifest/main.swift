// A remote application's manifest (`/rest/applinks/1.0/manifest`), in JSON or Atlassian's XML: one that is accepted
// has an id, and written as JSON reads back equal.
import AppLinksCore
import AppLinksJSON
import AppLinksPluginOAuth1
import Foundation
import FuzzDriver

fuzz { data in
    guard let manifest = RemoteManifest(data) else { return }
    expect(!manifest.id.isEmpty, "a manifest without an id")
    var object: [String: JSONValue] = [
        "id": .string(manifest.id), "name": .string(manifest.name), "typeId": .string(manifest.typeId), "url": .string(manifest.url),
        "incomingAuthenticationTypes": .array(manifest.incoming.map(JSONValue.string)),
        "outgoingAuthenticationTypes": .array(manifest.outgoing.map(JSONValue.string)),
    ]
    if let version = manifest.version { object["version"] = .string(version) }
    guard let json = try? JSONCoding.encode(JSONValue.object(object)) else { return expect(false, "the manifest does not encode") }
    expect(RemoteManifest(json) == manifest, "the manifest reads back different from \(String(decoding: json, as: UTF8.self))")
}
