import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import AppLinksPluginOAuth1
import Foundation

/// The wizard for a Generic application: the OAuth 1.0 details the admin gives.
extension AtlassianOAuth1LinkType {
    static let genericStep = DeclaredStep<AtlassianOAuth1LinkType>(
        id: "generic", title: "Generic application",
        fields: [
            WizardField(name: "name", label: "Application name"),
            WizardField(name: "incoming_consumer_key", label: "Incoming: consumer key", required: false),
            WizardField(name: "incoming_public_key", label: "Incoming: RSA public key (PEM)", required: false),
            WizardField(name: "incoming_callback", label: "Incoming: callback URL", type: .url, required: false),
            WizardField(
                name: "incoming_2lo", label: "Incoming: allow 2-legged OAuth", type: .bool, required: false, defaultValue: false,
                help: "requests signed without a user's token, as the execute-as user"),
            WizardField(
                name: "incoming_execute_as", label: "Incoming: execute 2-legged requests as", required: false,
                help: "a user here; empty acts as no user"),
            WizardField(
                name: "incoming_impersonation", label: "Incoming: allow user impersonation through 2-legged OAuth", type: .bool,
                required: false, defaultValue: false,
                help: "lets the application act as any user here: only when both share one user base"),
            WizardField(name: "outgoing_consumer_key", label: "Outgoing: consumer key", required: false),
            WizardField(name: "outgoing_secret", label: "Outgoing: shared secret (HMAC-SHA1)", type: .secret, required: false),
            WizardField(
                name: "outgoing_private_key", label: "Outgoing: or an RSA private key (PEM, RSA-SHA1)", type: .secret, required: false),
            WizardField(name: "outgoing_request_token_url", label: "Outgoing: request-token URL", type: .url, required: false),
            WizardField(name: "outgoing_authorize_url", label: "Outgoing: authorize URL", type: .url, required: false),
            WizardField(name: "outgoing_access_token_url", label: "Outgoing: access-token URL", type: .url, required: false),
        ]
    ) { plugin, r in try await plugin.submitGeneric(r) }

    func genericFields(_ messages: [WizardMessage]) -> Outcome { .next(Self.genericStep, messages: messages) }

    func submitGeneric(_ r: WizardRequest) async throws -> Outcome {
        func answer(_ name: String) -> String { (r.answers[name]?.stringValue ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let base = RemoteApplication.normalized(answer("url")) else {
            return .invalid([FieldError(field: "url", message: "give the application's base URL")], step: Self.urlStep)
        }
        var errors: [FieldError] = []
        let incomingKey = answer("incoming_consumer_key"), publicKey = answer("incoming_public_key")
        let outgoingKey = answer("outgoing_consumer_key")
        if incomingKey.isEmpty && outgoingKey.isEmpty {
            errors.append(FieldError(field: "incoming_consumer_key", message: "give an incoming or an outgoing consumer key (or both)"))
        }
        if !incomingKey.isEmpty {
            if let key = try? RSAKey(publicKeyPEM: publicKey) {
                if key.bits < OAuth1Provider.minimumRSABits {
                    errors.append(
                        FieldError(
                            field: "incoming_public_key",
                            message:
                                "the key has \(key.bits) bits; give an RSA key of at least \(OAuth1Provider.minimumRSABits) bits (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072)"
                        ))
                }
            } else {
                errors.append(
                    FieldError(
                        field: "incoming_public_key", message: "give the consumer's RSA public key as PEM (-----BEGIN PUBLIC KEY-----)"))
            }
            if !answer("incoming_execute_as").isEmpty && r.answers["incoming_2lo"]?.boolValue != true {
                errors.append(
                    FieldError(
                        field: "incoming_execute_as",
                        message: "2-legged requests are off; allow them (incoming_2lo=true) or leave this empty"))
            }
            let callback = answer("incoming_callback")
            if !callback.isEmpty && RemoteApplication.normalized(callback) == nil {
                errors.append(FieldError(field: "incoming_callback", message: "'\(callback)' is not an http(s) URL"))
            }
        }
        if !outgoingKey.isEmpty {
            let secret = answer("outgoing_secret"), privateKey = answer("outgoing_private_key")
            if secret.isEmpty == privateKey.isEmpty {
                errors.append(
                    FieldError(
                        field: "outgoing_secret",
                        message: "give either the shared secret the application issued with the consumer key, or an RSA private key"))
            } else if !privateKey.isEmpty && (try? RSAKey(privateKeyPEM: privateKey)) == nil {
                errors.append(
                    FieldError(field: "outgoing_private_key", message: "give the RSA private key as PEM (-----BEGIN PRIVATE KEY-----)"))
            }
            for field in ["outgoing_request_token_url", "outgoing_authorize_url", "outgoing_access_token_url"]
            where URL(string: answer(field))?.scheme.map({ ["http", "https"].contains($0) }) != true {
                errors.append(FieldError(field: field, message: "give the application's http(s) URL for this step"))
            }
        }
        if answer("name").isEmpty { errors.append(FieldError(field: "name", message: "give the application a name")) }
        if !errors.isEmpty { return .invalid(errors, step: Self.genericStep) }
        var config: [String: JSONValue] = [:]
        var incoming: [String] = [], outgoing: [String] = []
        if !incomingKey.isEmpty {
            let callback = answer("incoming_callback"), executeAs = answer("incoming_execute_as")
            let twoLegged = r.answers["incoming_2lo"]?.boolValue == true
            let impersonation = r.answers["incoming_impersonation"]?.boolValue == true
            try await KVProviderStore(host: host).saveConsumer(
                OAuth1ConsumerRecord(
                    key: incomingKey, name: answer("name"), publicKeyPEM: publicKey, callback: callback.isEmpty ? nil : callback,
                    allowImpersonation: impersonation, executeAs: twoLegged && !executeAs.isEmpty ? executeAs : nil))
            config["consumer_key"] = .string(incomingKey)
            config["impersonation"] = .bool(impersonation)
            if twoLegged && !executeAs.isEmpty { config["execute_as"] = .string(executeAs) }
            incoming = [Self.oauth] + (twoLegged ? [Self.twoLegged] : []) + (impersonation ? [Self.impersonating] : [])
        }
        var secrets: [String: String] = [:]
        if !outgoingKey.isEmpty {
            config["outgoing_consumer_key"] = .string(outgoingKey)
            for field in ["outgoing_request_token_url", "outgoing_authorize_url", "outgoing_access_token_url"] {
                config[field] = .string(answer(field))
            }
            if answer("outgoing_private_key").isEmpty {
                secrets["outgoing_secret"] = answer("outgoing_secret")
                config["outgoing_signature_method"] = .string(OAuth1SignatureMethod.hmacSHA1.rawValue)
            } else {
                secrets["outgoing_private_key"] = answer("outgoing_private_key")
                config["outgoing_signature_method"] = .string(OAuth1SignatureMethod.rsaSHA1.rawValue)
            }
            outgoing = [Self.oauth]
        }
        return .done(
            LinkSpec(
                name: answer("name"), application: ApplicationInfo(type: "generic", name: ApplicationInfo.genericName),
                displayURL: base, rpcURL: base, incomingAuth: incoming, outgoingAuth: outgoing, config: config), secrets: secrets,
            messages: [])
    }
}
