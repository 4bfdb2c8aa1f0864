import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksStore
import ArgumentParser
import Foundation

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Local users, who log in to approve authorizations and own access tokens.",
        subcommands: [
            UsersAdd.self, UsersList.self, UsersPasswd.self, UsersSetAdmin.self, UsersDelete.self, UsersGrants.self,
            UsersRevokeGrant.self,
        ])
}

struct UsersGrants: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "grants",
        abstract: "The applications a user has authorized (OAuth 2.0 grants, OAuth 1.0 approvals), with their scopes.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The user name.") var name: String

    func execute() async throws {
        let grants = try await common.openHost().grants(ofUser: name)
        if common.json { return try Output.json(JSONValue.array(grants)) }
        if grants.isEmpty { print("'\(name)' has authorized no application.") }
        for g in grants {
            var scopes: [String] = []
            if case .array(let items)? = g["scopes"] { scopes = items.compactMap(\.stringValue) }
            print(
                "\(g["id"]?.stringValue ?? "?")  \(g["client"]?.stringValue ?? "?")  \(scopes.joined(separator: " "))  since \(g["created_at"]?.stringValue ?? "?")"
            )
        }
    }
}

struct UsersRevokeGrant: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke-grant", abstract: "Revoke one of a user's authorizations, and every token issued under it.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The user name.") var name: String
    @Argument(help: "The authorization's id, from `applinks users grants NAME`.") var grant: String

    func execute() async throws {
        let response = try await common.openHost().revokeGrant(ofUser: name, grant: grant)
        if common.json { return try Output.json(response) }
        print(response.message ?? "Revoked.")
    }
}

/// Reads a password: from stdin with --password-stdin, else twice at a hidden terminal prompt.
func readPassword(fromStdin: Bool, prompt: String) throws -> String {
    if fromStdin {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw AppLinksError(.invalidInput, "--password-stdin read no password; pipe one line, such as `echo \"$PW\" | applinks …`.")
        }
        return line
    }
    guard Output.stdinIsTerminal else {
        throw AppLinksError(.invalidInput, "No terminal to ask for the password on; pass --password-stdin and pipe it in.")
    }
    let ui = TerminalInteraction(isInteractive: true, quiet: false)
    let field = WizardField(name: "password", label: prompt, type: .secret)
    let first = try ui.readSecret(field)
    let again = try ui.readSecret(WizardField(name: "password", label: "Again", type: .secret))
    guard first == again else { throw AppLinksError(.invalidInput, "The two passwords differ; nothing was changed.") }
    return first
}

struct UsersAdd: HostCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a user.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The user name.") var name: String
    @Flag(help: "Make the user an administrator.") var admin = false
    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false

    func execute() async throws {
        let host = try await common.openHost()
        let password = try readPassword(fromStdin: passwordStdin, prompt: "Password for \(name)")
        let user = try await host.addUser(name, password: password, admin: admin)
        if common.json { return try Output.json(UserView(user)) }
        print("Added \(user.admin ? "administrator" : "user") '\(user.name)'.")
    }
}

struct UsersList: HostCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List users.")
    @OptionGroup var common: CommonOptions

    func execute() async throws {
        let users = try await common.openHost().store.users()
        if common.json { return try await Output.json(users.map(UserView.init)) }
        if users.isEmpty { print("No users. Add one with `applinks users add NAME --admin`.") }
        for u in users { print("\(u.name)\(u.admin ? "  (admin)" : "")") }
    }
}

struct UsersPasswd: HostCommand {
    static let configuration = CommandConfiguration(commandName: "passwd", abstract: "Set a user's password.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The user name.") var name: String
    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false

    func execute() async throws {
        let host = try await common.openHost()
        guard try await host.store.user(name: name) != nil else {
            throw AppLinksError(.notFound, "No user named '\(name)'. Run `applinks users list`.")
        }
        try await host.setPassword(name, password: try readPassword(fromStdin: passwordStdin, prompt: "New password for \(name)"))
        if !common.json { print("Changed the password of '\(name)'; their sessions ended and their tokens were revoked.") }
    }
}

struct UsersSetAdmin: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-admin", abstract: "Make a user an administrator, or (with --no-admin) take the right away.",
        discussion: "It counts from the user's next request, on every node: open admin pages and the admin API refuse a demoted user.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The user name.") var name: String
    @Flag(inversion: .prefixedNo, help: "Whether the user administers this deployment.") var admin: Bool

    func execute() async throws {
        try await common.openHost().setAdmin(name, admin: admin)
        if !common.json { print(admin ? "'\(name)' is now an administrator." : "'\(name)' is no longer an administrator.") }
    }
}

struct UsersDelete: HostCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a user and their tokens.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The user name.") var name: String

    func execute() async throws {
        try await common.openHost().deleteUser(name)
        if !common.json { print("Deleted '\(name)' and their tokens.") }
    }
}

struct UserView: Encodable, Sendable {
    var name: String
    var admin: Bool
    var created_at: String
    init(_ u: UserRecord) {
        name = u.name
        admin = u.admin
        created_at = Timestamp.format(u.createdAt)
    }
}

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "Personal access tokens for the admin REST API (Authorization: Bearer).",
        subcommands: [TokensCreate.self, TokensList.self, TokensRevoke.self])
}

struct TokenView: Encodable, Sendable {
    var id: String
    var user: String
    var name: String
    var scopes: [String]
    var created_at: String
    var revoked: Bool
    var token: String?
    init(_ t: TokenRecord, secret: String? = nil) {
        id = t.id
        user = t.user
        name = t.name
        scopes = t.scopes
        created_at = Timestamp.format(t.createdAt)
        revoked = t.revoked
        token = secret
    }
}

struct TokensCreate: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a token; it is printed once and only its hash is kept.")
    @OptionGroup var common: CommonOptions
    @Option(help: "The user the token acts as.") var user: String
    @Option(help: "A label to recognise the token by.") var name = "token"

    func execute() async throws {
        let (record, secret) = try await common.openHost().createToken(user: user, name: name)
        if common.json { return try Output.json(TokenView(record, secret: secret)) }
        print(secret)
        Output.note("Token \(record.id) for \(user). It is shown only now: store it somewhere safe.")
    }
}

struct TokensList: HostCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens (never their values).")
    @OptionGroup var common: CommonOptions
    @Option(help: "Only this user's tokens.") var user: String?

    func execute() async throws {
        let tokens = try await common.openHost().store.tokens(user: user)
        if common.json { return try await Output.json(tokens.map { TokenView($0) }) }
        if tokens.isEmpty { print("No tokens. Create one with `applinks tokens create --user NAME`.") }
        for t in tokens { print("\(t.id)  \(t.user)  \(t.name)\(t.revoked ? "  (revoked)" : "")") }
    }
}

struct TokensRevoke: HostCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The token's id (tok-…), as `applinks tokens list` shows it.") var id: String

    func execute() async throws {
        try await common.openHost().revokeToken(id)
        if !common.json { print("Revoked \(id).") }
    }
}
