import AppLinksCore
import AppLinksCrypto
import Foundation

/// Seals secrets with AES-256-GCM under the deployment's master key, bound to a context string so that a
/// sealed value copied to another row or link does not open there.
public struct SecretSealer: Sendable {
    private let key: Data
    static let formatVersion: UInt8 = 1

    public init(masterKey: Data) throws {
        guard masterKey.count == AESGCM.keySize else {
            throw AppLinksError(
                .crypto,
                "The master key must be 32 bytes; it is \(masterKey.count). Restore the right master.key "
                    + "or APPLINKS_MASTER_KEY.")
        }
        key = masterKey
    }

    public func seal(_ plaintext: Data, context: String) throws -> Data {
        do {
            return Data([Self.formatVersion]) + (try AESGCM.seal(plaintext, key: key, associatedData: Data(context.utf8)))
        } catch {
            throw AppLinksError(.crypto, "Sealing a secret failed: \(error)", cause: error)
        }
    }

    public func open(_ sealed: Data, context: String) throws -> Data {
        guard sealed.first == Self.formatVersion else {
            throw AppLinksError(.crypto, "A sealed secret has an unknown format; it was not written by this version of AppLinks.")
        }
        do {
            return try AESGCM.open(sealed.dropFirst(), key: key, associatedData: Data(context.utf8))
        } catch {
            throw AppLinksError(
                .crypto,
                "A sealed secret does not open with this deployment's master key. The master key was "
                    + "changed or the database was copied from another deployment: restore the original master.key.", cause: error)
        }
    }

    public func sealString(_ s: String, context: String) throws -> Data { try seal(Data(s.utf8), context: context) }

    public func openString(_ d: Data, context: String) throws -> String { String(decoding: try open(d, context: context), as: UTF8.self) }

    /// The context of a link's secret.
    public static func linkContext(_ linkID: String, _ name: String) -> String { "link:\(linkID):\(name)" }
}
