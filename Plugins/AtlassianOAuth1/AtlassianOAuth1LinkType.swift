import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import AppLinksPluginOAuth1
import Foundation

/// The original application-links mechanism: enter a URL, the wizard finds out what answers there, and two
/// application-links hosts (or an Atlassian product) authorize each other with OAuth 1.0 and RSA-SHA1. Anything
/// else is a Generic application, linked with the OAuth 1.0 details the admin gives.
struct AtlassianOAuth1LinkType: LinkTypePlugin {
    static let oauth = "com.atlassian.applinks.api.auth.types.OAuthAuthenticationProvider"
    static let twoLegged = "com.atlassian.applinks.api.auth.types.TwoLeggedOAuthAuthenticationProvider"
    static let impersonating = "com.atlassian.applinks.api.auth.types.TwoLeggedOAuthWithImpersonationAuthenticationProvider"

    static let levels = ["3LO and 2LO", "3LO, 2LO and 2LO with impersonation"]

    static let descriptor = LinkTypeDescriptor(
        id: "atlassian-oauth1", name: "Atlassian product / OAuth 1.0", version: "1.0.0", vendor: "AppLinks",
        description: "Two-way links with other application-links hosts and Atlassian products, and OAuth 1.0 applications.",
        directions: [.incoming, .outgoing, .twoWay],
        wizard: .init(steps: [
            // `reciprocal` is hidden: another host's wizard sets it when it asks for this side of its link.
            .init(id: "url", title: "Application URL", fields: ["url", "reciprocal"]),
            .init(
                id: "remote", title: "Remote administrator",
                fields: ["remote_side", "remote_user", "remote_password", "remote_token", "allow_http", "auth", "existing_remote"]),
            .init(id: "reciprocal", title: "The remote creates its side", fields: []),
            .init(
                id: "generic", title: "Generic application",
                fields: [
                    "name", "incoming_consumer_key", "incoming_public_key", "incoming_callback", "incoming_2lo", "incoming_execute_as",
                    "incoming_impersonation", "outgoing_consumer_key", "outgoing_secret", "outgoing_private_key",
                    "outgoing_request_token_url", "outgoing_authorize_url", "outgoing_access_token_url",
                ]),
        ]),
        statusChecks: [.init(id: "remote", title: "The remote answers signed requests")],
        actions: [
            .init(
                id: "whoami", title: "Ask the remote who a user is there, signed with the user's 3LO token",
                params: [.init(name: "user", type: .string, required: true, help: "A user here who authorized this instance on the remote")]
            ),
            .init(id: "consumer-info", title: "Show the consumer key and public key this side signs with"),
            .init(
                id: "relocate", title: "Point the link at the application's new URL",
                params: [.init(name: "url", type: .url, required: true)]),
            .init(
                id: "delete",
                title:
                    "Run when the link is deleted; with remote credentials (`applinks delete LINK --arg …`), deletes the remote's reciprocal link too",
                destructive: true,
                params: [
                    .init(name: "remote_user", type: .string), .init(name: "remote_password", type: .secret),
                    .init(name: "remote_token", type: .secret),
                ]),
            .init(
                id: "edit-auth", title: "Change this side's authentication",
                params: [
                    .init(
                        name: "level", type: .string, required: true,
                        help: "'3LO and 2LO', '3LO, 2LO and 2LO with impersonation', or 'none'")
                ]),
            .init(
                id: "list-grants", title: "Who approved this application (3LO) here, and since when",
                params: [.init(name: "user", type: .string, help: "Only this user's approvals")]),
            .init(
                id: "revoke-grant", title: "Revoke one approval: its token stops working and cannot be renewed", destructive: true,
                params: [
                    .init(name: "grant", type: .string, required: true, help: "The approval's id, from list-grants"),
                    .init(name: "user", type: .string, help: "Revoke only if the approval is this user's"),
                ]),
        ],
        routes: [
            .init(method: "GET", path: "/plugins/servlet/oauth/consumer-info", auth: .none),
            .init(method: "POST", path: "/plugins/servlet/oauth/request-token", auth: .none),
            .init(method: "GET", path: "/plugins/servlet/oauth/authorize", auth: .user),
            .init(method: "POST", path: "/plugins/servlet/oauth/authorize", auth: .user),
            .init(method: "POST", path: "/plugins/servlet/oauth/access-token", auth: .none),
            .init(method: "GET", path: Authorization.startPath, auth: .user),
            .init(method: "GET", path: Authorization.callbackPath, auth: .user),
            .init(method: "GET", path: "/plugins/atlassian-oauth1/whoami", auth: .none),
            .init(method: "GET", path: Self.wizardReturnPath, auth: .admin),
        ],
        authentication: .init(incoming: [oauth, twoLegged, impersonating], outgoing: [oauth, twoLegged, impersonating]))

    let host: HostAPI
    /// Where the remote's page sends the admin's browser back to, once it created its side of the link.
    static let wizardReturnPath = "/plugins/atlassian-oauth1/wizard-return"

    init(host: HostAPI) throws { self.host = host }
}

/// What the library's `applinks_plugin_entry` returns. The C symbol itself is in `Entry/`, a target of its own, so
/// that unit tests can link this link type beside the others.
public func pluginEntry(_ hostABIVersion: UInt32) -> UnsafeRawPointer? {
    PluginExport.entry(AtlassianOAuth1LinkType.self, hostABIVersion: hostABIVersion)
}
