import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksLocking
import AppLinksPluginRuntime
import AppLinksStore
import Foundation

/// Local users and the personal access tokens that authenticate them to the admin REST API.
extension Deployment {
    /// scrypt parameters for new password hashes: N=2^15, r=8, p=1 (32 MiB), as OWASP recommends at least.
    static let scryptN: UInt64 = 1 << 15

    public static func validUserName(_ name: String) throws -> String {
        guard name.wholeMatch(of: /[A-Za-z0-9][A-Za-z0-9._@-]{0,63}/) != nil else {
            throw AppLinksError(
                .invalidInput,
                "'\(name)' is not a valid user name: use 1 to 64 letters, digits, '.', '_', '@' or '-', "
                    + "starting with a letter or digit.")
        }
        return name
    }

    public static func validPassword(_ password: String) throws -> String {
        guard password.count >= 8 else { throw AppLinksError(.invalidInput, "The password must have at least 8 characters.") }
        return password
    }

    /// `scrypt$N$r$p$salt$hash`, the salt and hash in base64.
    static func hashPassword(_ password: String) throws -> String {
        let salt = SecureRandom.bytes(16)
        let hash = try Scrypt.derive(password: Data(password.utf8), salt: salt, n: scryptN, r: 8, p: 1, length: 32)
        return "scrypt$\(scryptN)$8$1$\(salt.base64EncodedString())$\(hash.base64EncodedString())"
    }

    static func verifyPassword(_ password: String, hash stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let n = UInt64(parts[1]), let r = UInt64(parts[2]), let p = UInt64(parts[3]),
            let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]),
            let actual = try? Scrypt.derive(password: Data(password.utf8), salt: salt, n: n, r: r, p: p, length: expected.count)
        else { return false }
        return ConstantTime.equals(actual, expected)
    }

    public func addUser(_ name: String, password: String, admin: Bool) async throws -> UserRecord {
        let user = UserRecord(
            name: try Self.validUserName(name), passwordHash: try Self.hashPassword(try Self.validPassword(password)), admin: admin)
        try await store.addUser(user)
        try await audit("user-add", detail: ["user": .string(name), "admin": .bool(admin)])
        return user
    }

    /// Sets a new password. The user's browser sessions end and their personal access tokens are revoked: a
    /// password is changed most often because the old one, or what it unlocked, leaked.
    public func setPassword(_ name: String, password: String) async throws {
        try await store.setPassword(name: name, passwordHash: try Self.hashPassword(try Self.validPassword(password)))
        let revoked = try await endCredentials(of: name)
        try await audit("user-passwd", detail: ["user": .string(name), "tokens_revoked": .number(Double(revoked))])
    }

    /// Grants or withdraws administration. It counts from the user's next request: sessions read the flag from
    /// the user each time, and tokens act with the user's rights as they are.
    public func setAdmin(_ name: String, admin: Bool) async throws {
        try await store.setAdmin(name: name, admin: admin)
        try await audit("user-admin", detail: ["user": .string(name), "admin": .bool(admin)])
    }

    /// Deletes a user, ending their sessions and revoking their personal access tokens.
    public func deleteUser(_ name: String) async throws {
        guard try await store.deleteUser(name: name) else {
            throw AppLinksError(.notFound, "No user named '\(name)'. Run `applinks users list`.")
        }
        let revoked = try await endCredentials(of: name)
        try await audit("user-delete", detail: ["user": .string(name), "tokens_revoked": .number(Double(revoked))])
    }

    static let sessionEpochs = "host.session-epochs"

    /// When the user's sessions were last ended: a session that began before then is over, on every node.
    public func sessionsEnded(user name: String) async throws -> Date? {
        try await store.value(namespace: Self.sessionEpochs, key: name.lowercased())
            .flatMap { Double(String(decoding: $0, as: UTF8.self)) }.map { Date(timeIntervalSince1970: $0) }
    }

    /// Ends the user's sessions and revokes their tokens; returns how many tokens were revoked.
    private func endCredentials(of name: String) async throws -> Int {
        try await store.put(
            namespace: Self.sessionEpochs, key: name.lowercased(), value: Data(String(Date().timeIntervalSince1970).utf8), ttl: nil)
        var revoked = 0
        for token in try await store.tokens(user: name) where !token.revoked {
            if try await store.revokeToken(id: token.id) { revoked += 1 }
        }
        return revoked
    }

    /// The user, if the password is right. Takes as long for an unknown user as for a wrong password.
    public func authenticate(user name: String, password: String) async throws -> UserRecord? {
        let user = try await store.user(name: name)
        let hash = user?.passwordHash ?? Self.dummyHash
        let right = try await Self.passwordThreads.run { Self.verifyPassword(password, hash: hash) }
        return right ? user : nil
    }

    /// Where scrypt runs: 32 MiB and tens of milliseconds a check would stall an event loop and every request
    /// on it. No more checks run at once than there are cores; the rest wait their turn.
    static let passwordThreads = BlockingThreadPool(
        name: "applinks.scrypt", maxThreads: max(1, ProcessInfo.processInfo.activeProcessorCount))

    private static let dummyHash = (try? hashPassword("timing-equaliser")) ?? ""

    /// Token text: a prefix that secret scanners can match, then 256 random bits.
    public static let tokenPrefix = "alpat_"

    /// Creates a personal access token. The token is returned once; only its SHA-256 is stored.
    public func createToken(user: String, name: String, scopes: [String] = ["SYSTEM_ADMIN"]) async throws -> (TokenRecord, String) {
        guard try await store.user(name: user) != nil else {
            throw AppLinksError(.notFound, "No user named '\(user)'. Add one with `applinks users add \(user)`.")
        }
        let secret = Self.tokenPrefix + SecureRandom.token(bits: 256)
        let record = TokenRecord(
            id: "tok-" + String(UUID().uuidString.lowercased().prefix(8)), user: user, name: name,
            hash: Digest.sha256(Data(secret.utf8)), scopes: scopes)
        try await store.addToken(record)
        try await audit("token-create", detail: ["user": .string(user), "token": .string(record.id), "name": .string(name)])
        return (record, secret)
    }

    public func revokeToken(_ id: String) async throws {
        guard try await store.revokeToken(id: id) else {
            throw AppLinksError(.notFound, "No active token '\(id)'. Run `applinks tokens list`.")
        }
        try await audit("token-revoke", detail: ["token": .string(id)])
    }

    /// The user a bearer token belongs to, if the token is valid (known, not revoked, not expired).
    public func authenticate(bearer token: String) async throws -> (UserRecord, TokenRecord)? {
        guard token.hasPrefix(Self.tokenPrefix), let record = try await store.token(hash: Digest.sha256(Data(token.utf8))),
            !record.revoked, record.expiresAt.map({ $0 > Date() }) ?? true,
            let user = try await store.user(name: record.user)
        else { return nil }
        return (user, record)
    }
}

extension Deployment {
    /// A bearer token that is none of the host's own, asked of each enabled link type with a route that
    /// ``LinkTypeDescriptor/Route/authenticatesBearer``. The user must exist here; `admin` is true only when the
    /// user is an administrator and the link type says the token's scopes allow administration.
    public func authenticateWithLinkTypes(
        bearer token: String, remoteAddress: String?
    ) async throws -> (
        user: UserRecord, admin: Bool, via: String
    )? {
        for plugin in plugins.values.sorted(by: { $0.id < $1.id }) {
            for route in plugin.descriptor.routes where route.authenticatesBearer && route.method == "GET" {
                let request = PluginHTTPRequest(
                    method: "GET", path: route.path, headers: [["Authorization", "Bearer " + token]], remoteAddress: remoteAddress,
                    baseURL: config.baseURL)
                guard let answer = try? await answer(request, route: route, of: plugin, timeout: .seconds(10)),
                    answer.status == 200,
                    let identity = try? JSONDecoder().decode(LinkTypeDescriptor.BearerIdentity.self, from: answer.body),
                    let user = try await store.user(name: identity.user)
                else { continue }
                return (user, user.admin && identity.admin, "\(plugin.id) token")
            }
        }
        return nil
    }
}

extension Deployment {
    /// Every authorization a user gave to an application, across the links whose type lists them (an action
    /// `list-grants` with a `user` parameter, as `oauth2-incoming` has).
    public func grants(ofUser name: String) async throws -> [JSONValue] {
        guard try await store.user(name: name) != nil else {
            throw AppLinksError(.notFound, "No user named '\(name)'. Run `applinks users list`.")
        }
        var out: [JSONValue] = []
        for (link, plugin) in try await linksWithAction("list-grants") where link.enabled {
            let response = try await runAction(plugin, link: link, action: "list-grants", args: ["user": .string(name)])
            if case .array(let items)? = response.output { out += items }
        }
        return out
    }

    /// Revokes one of the user's authorizations, wherever it is; audited like the link action it runs.
    public func revokeGrant(ofUser name: String, grant: String) async throws -> ActionResponse {
        // The grant names its link; the link's type then revokes it, checking the user again.
        guard let linkID = try await grants(ofUser: name).first(where: { $0["id"]?.stringValue == grant })?["link_id"]?.stringValue else {
            throw AppLinksError(.notFound, "'\(name)' has no authorization '\(grant)'. Run `applinks users grants \(name)`.")
        }
        return try await invokeAction(linkID, action: "revoke-grant", rawArgs: [("grant", grant), ("user", name)]).1
    }

    private func linksWithAction(_ action: String) async throws -> [(Link, LoadedPlugin)] {
        try await store.links().compactMap { link in
            guard let plugin = enabledPlugin(link.type), plugin.descriptor.actions.contains(where: { $0.id == action }) else { return nil }
            return (link, plugin)
        }
    }
}
