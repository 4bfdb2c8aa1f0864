import AppLinksHTTPInput
import Foundation

/// How a client said who it is at the token, revocation or introspection endpoint (RFC 6749 §2.3.1).
public struct ClientAuthentication: Sendable, Hashable {
    public enum Method: String, Sendable, Hashable {
        case basic = "client_secret_basic"
        case post = "client_secret_post"
        /// A public client: only `client_id`, no secret.
        case none
    }
    public var clientID: String
    public var secret: String?
    public var method: Method

    public init(clientID: String, secret: String?, method: Method) {
        self.clientID = clientID
        self.secret = secret
        self.method = method
    }

    /// Reads the `Authorization: Basic` header, or `client_id` and `client_secret` in the form. Using both
    /// methods at once is refused, as §2.3 requires.
    public static func from(authorization: String?, form: FormURLEncoded) throws(OAuth2Error) -> ClientAuthentication {
        let formID = form["client_id"], formSecret = form["client_secret"]
        if let authorization, BasicCredentials.isBasic(authorization) {
            if formSecret != nil {
                throw OAuth2Error(.invalidRequest, "The client authenticated twice (Basic and client_secret); use one method.")
            }
            guard let basic = BasicCredentials(header: authorization) else {
                throw OAuth2Error(.invalidClient, "The Basic credentials are not base64 of client_id:client_secret.")
            }
            let id = FormURLEncoded.decode(Substring(basic.user)), secret = FormURLEncoded.decode(Substring(basic.password))
            if let formID, formID != id {
                throw OAuth2Error(.invalidRequest, "client_id in the form differs from the Basic credentials.")
            }
            return ClientAuthentication(clientID: id, secret: secret, method: .basic)
        }
        guard let formID else { throw OAuth2Error(.invalidClient, "No client authentication: give client_id (and its secret).") }
        return ClientAuthentication(clientID: formID, secret: formSecret, method: formSecret == nil ? .none : .post)
    }
}
