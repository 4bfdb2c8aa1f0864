import AppLinksCore
import AppLinksJSON
import Foundation

// The records read and written on every token request, coded by hand: Foundation's JSONDecoder costs more
// than the store lookup it follows. The keys are Codable's, so either side reads what the other wrote.

extension AccessTokenRecord {
    init?(json data: Data) {
        guard case .object(let o)? = try? JSONValue.parse(data), let client = o["clientID"]?.stringValue,
            let issued = o["issuedAt"]?.doubleValue, let expires = o["expiresAt"]?.doubleValue
        else { return nil }
        self.init(
            clientID: client, user: o["user"]?.stringValue, scopes: strings(o["scopes"]), grantID: o["grantID"]?.stringValue,
            issuedAt: issued, expiresAt: expires)
    }

    var json: Data {
        var s = #"{"clientID":"# + quoted(clientID) + #","expiresAt":"# + number(expiresAt)
        if let grantID { s += #","grantID":"# + quoted(grantID) }
        s += #","issuedAt":"# + number(issuedAt) + #","scopes":"# + array(scopes)
        if let user { s += #","user":"# + quoted(user) }
        return Data((s + "}").utf8)
    }
}

extension RefreshTokenRecord {
    init?(json data: Data) {
        guard case .object(let o)? = try? JSONValue.parse(data), let client = o["clientID"]?.stringValue,
            let user = o["user"]?.stringValue, let grant = o["grantID"]?.stringValue, let expires = o["expiresAt"]?.doubleValue
        else { return nil }
        self.init(
            clientID: client, user: user, scopes: strings(o["scopes"]), grantID: grant, expiresAt: expires,
            used: o["used"]?.boolValue ?? false)
    }

    var json: Data {
        Data(
            (#"{"clientID":"# + quoted(clientID) + #","expiresAt":"# + number(expiresAt) + #","grantID":"# + quoted(grantID)
                + #","scopes":"# + array(scopes) + #","used":"# + (used ? "true" : "false") + #","user":"# + quoted(user) + "}").utf8)
    }
}

extension GrantRecord {
    /// A grant is read and rewritten on every refresh, with up to ``OAuth2ServerStore/maxAccessTokens`` token hashes.
    init?(json data: Data) {
        guard case .object(let o)? = try? JSONValue.parse(data), let id = o["id"]?.stringValue, let client = o["clientID"]?.stringValue,
            let user = o["user"]?.stringValue, let created = o["createdAt"]?.doubleValue, let lastUsed = o["lastUsedAt"]?.doubleValue,
            let access = expiries(o["accessTokens"]), let refresh = expiries(o["refreshTokens"])
        else { return nil }
        self.init(
            id: id, clientID: client, user: user, scopes: strings(o["scopes"]), createdAt: created, lastUsedAt: lastUsed,
            accessTokens: access, refreshTokens: refresh)
    }

    var json: Data {
        Data(
            (#"{"accessTokens":"# + object(accessTokens) + #","clientID":"# + quoted(clientID) + #","createdAt":"# + number(createdAt)
                + #","id":"# + quoted(id) + #","lastUsedAt":"# + number(lastUsedAt) + #","refreshTokens":"# + object(refreshTokens)
                + #","scopes":"# + array(scopes) + #","user":"# + quoted(user) + "}").utf8)
    }
}

extension ClientRecord {
    init?(json data: Data) {
        guard case .object(let o)? = try? JSONValue.parse(data), let id = o["clientID"]?.stringValue,
            let name = o["name"]?.stringValue
        else { return nil }
        self.init(
            clientID: id, name: name, secretHash: o["secretHash"]?.stringValue, redirectURIs: strings(o["redirectURIs"]),
            scopes: strings(o["scopes"]), confidential: o["confidential"]?.boolValue ?? true,
            allowClientCredentials: o["allowClientCredentials"]?.boolValue ?? false, createdAt: o["createdAt"]?.doubleValue ?? 0,
            resourceServer: o["resourceServer"]?.boolValue ?? false)
    }
}

private let quoted = JSONValue.quoted

private func strings(_ v: JSONValue?) -> [String] {
    guard case .array(let items)? = v else { return [] }
    return items.compactMap(\.stringValue)
}

/// Seconds since 1970, whole when they are (as JSONEncoder writes them).
private func number(_ d: Double) -> String { d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : "\(d)" }

private func array(_ items: [String]) -> String { "[" + items.map(quoted).joined(separator: ",") + "]" }

private func expiries(_ v: JSONValue?) -> [String: Double]? {
    guard case .object(let members)? = v else { return nil }
    var out: [String: Double] = [:]
    out.reserveCapacity(members.count)
    for (key, value) in members {
        guard let d = value.doubleValue else { return nil }
        out[key] = d
    }
    return out
}

/// In key order, as JSONEncoder with sorted keys writes it.
private func object(_ members: [String: Double]) -> String {
    "{" + members.sorted { $0.key < $1.key }.map { quoted($0.key) + ":" + number($0.value) }.joined(separator: ",") + "}"
}
