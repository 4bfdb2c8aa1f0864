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
struct AtlassianOAuth1LinkType: DeclaredWizard {
    static let oauth = "com.atlassian.applinks.api.auth.types.OAuthAuthenticationProvider"
    static let twoLegged = "com.atlassian.applinks.api.auth.types.TwoLeggedOAuthAuthenticationProvider"
    static let impersonating = "com.atlassian.applinks.api.auth.types.TwoLeggedOAuthWithImpersonationAuthenticationProvider"

    static let levels = ["3LO and 2LO", "3LO, 2LO and 2LO with impersonation"]

    static let declaration = LinkTypeDescriptor(
        id: "atlassian-oauth1", name: "Atlassian product / OAuth 1.0", version: "1.0.0", vendor: "AppLinks",
        description: "Two-way links with other application-links hosts and Atlassian products, and OAuth 1.0 applications.",
        directions: [.incoming, .outgoing, .twoWay],
        wizard: .init(steps: []),
        statusChecks: [.init(id: "remote", title: "The remote answers signed requests")],
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
