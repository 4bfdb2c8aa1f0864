import AppLinksCore
import AppLinksJSON
import AppLinksStore
import Foundation
import PostgresNIO

extension PostgresStore: UserStore {
    private static func users(_ rows: PostgresRowSequence) async throws -> [UserRecord] {
        var out: [UserRecord] = []
        for try await (name, hash, admin, created) in rows.decode((String, String, Bool, Double).self) {
            out.append(UserRecord(name: name, passwordHash: hash, admin: admin, createdAt: Date(timeIntervalSince1970: created)))
        }
        return out
    }

    public func addUser(_ user: UserRecord) async throws {
        try await run("Writing user \(user.name)") { [self] in
            do {
                try await client.query(
                    """
                    INSERT INTO users (name, password_hash, admin, created_at)
                    VALUES (\(user.name), \(user.passwordHash), \(user.admin), \(Columns.date(user.createdAt)))
                    """, logger: logger)
            } catch  where Self.sqlState(error) == "23505" {
                throw StoreFailure.userExists(user.name, cause: error)
            }
        }
    }

    public func user(name: String) async throws -> UserRecord? {
        try await run("Reading user \(name)") { [self] in
            try await Self.users(
                try await client.query("SELECT name, password_hash, admin, created_at FROM users WHERE name = \(name)", logger: logger)
            ).first
        }
    }

    public func users() async throws -> [UserRecord] {
        try await run("Reading users") { [self] in
            try await Self.users(
                try await client.query(
                    "SELECT name, password_hash, admin, created_at FROM users ORDER BY name COLLATE \"C\"", logger: logger))
        }
    }

    public func setAdmin(name: String, admin: Bool) async throws {
        try await run("Writing user \(name)") { [self] in
            for try await _ in try await client.query(
                "UPDATE users SET admin = \(admin) WHERE name = \(name) RETURNING name", logger: logger)
            {
                return
            }
            throw StoreFailure.noUser(name)
        }
    }

    public func setPassword(name: String, passwordHash: String) async throws {
        try await run("Writing user \(name)") { [self] in
            for try await _ in try await client.query(
                "UPDATE users SET password_hash = \(passwordHash) WHERE name = \(name) RETURNING name", logger: logger)
            {
                return
            }
            throw StoreFailure.noUser(name)
        }
    }

    public func deleteUser(name: String) async throws -> Bool {
        try await run("Deleting user \(name)") { [self] in
            for try await _ in try await client.query("DELETE FROM users WHERE name = \(name) RETURNING name", logger: logger) {
                return true
            }
            return false
        }
    }
}

extension PostgresStore: TokenStore {
    private static let tokenColumns = #"id, "user", name, hash, scopes, created_at, expires_at, revoked"#

    private static func tokens(_ rows: PostgresRowSequence) async throws -> [TokenRecord] {
        var out: [TokenRecord] = []
        for try await (id, user, name, hash, scopes, created, expires, revoked) in rows.decode(
            (String, String, String, Data, String, Double, Double?, Bool).self)
        {
            out.append(
                TokenRecord(
                    id: id, user: user, name: name, hash: hash, scopes: Columns.decode([String].self, scopes, default: []),
                    createdAt: Date(timeIntervalSince1970: created), expiresAt: Columns.date(expires), revoked: revoked))
        }
        return out
    }

    public func addToken(_ token: TokenRecord) async throws {
        try await run("Writing token \(token.name)") { [self] in
            do {
                try await client.query(
                    """
                    INSERT INTO tokens (\(unescaped: Self.tokenColumns)) VALUES (\(token.id), \(token.user), \(token.name), \(token.hash),
                        \(Columns.json(token.scopes)), \(Columns.date(token.createdAt)), \(token.expiresAt.map(Columns.date)), \(token.revoked))
                    """, logger: logger)
            } catch  where ["23505", "23503"].contains(Self.sqlState(error)) {
                throw StoreFailure.tokenRefused(user: token.user, cause: error)
            }
        }
    }

    public func token(hash: Data) async throws -> TokenRecord? {
        try await run("Reading a token") { [self] in
            try await Self.tokens(
                try await client.query("SELECT \(unescaped: Self.tokenColumns) FROM tokens WHERE hash = \(hash)", logger: logger)
            )
            .first
        }
    }

    public func tokens(user: String?) async throws -> [TokenRecord] {
        try await run("Reading tokens") { [self] in
            if let user {
                return try await Self.tokens(
                    try await client.query(
                        #"SELECT \#(unescaped: Self.tokenColumns) FROM tokens WHERE "user" = \#(user) ORDER BY created_at"#, logger: logger)
                )
            }
            return try await Self.tokens(
                try await client.query("SELECT \(unescaped: Self.tokenColumns) FROM tokens ORDER BY created_at", logger: logger))
        }
    }

    public func revokeToken(id: String) async throws -> Bool {
        try await run("Revoking token \(id)") { [self] in
            for try await _ in try await client.query(
                "UPDATE tokens SET revoked = TRUE WHERE id = \(id) AND NOT revoked RETURNING id", logger: logger)
            {
                return true
            }
            return false
        }
    }
}
