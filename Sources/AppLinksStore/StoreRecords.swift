import AppLinksCore
import Foundation

public struct DraftRecord: Sendable, Hashable {
    /// How long a draft is kept after its last change: long enough to finish a wizard interrupted at the end of
    /// a day, short enough that failed scripted runs do not pile up.
    public static let lifetime: TimeInterval = 86_400

    public var id: String
    public var type: String
    /// The step to submit when the wizard resumes: the last one whose answers the plugin accepted (it then shows
    /// the fields that follow again), or the step that is waiting. nil before the first step.
    public var step: String?
    /// The answers so far, sealed by the host because they may hold secrets.
    public var sealedAnswers: Data
    public var note: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, type: String, step: String?, sealedAnswers: Data, note: String? = nil,
        createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.type = type
        self.step = step
        self.sealedAnswers = sealedAnswers
        self.note = note
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct UserRecord: Sendable, Hashable {
    public var name: String
    /// `scrypt$N$r$p$salt$hash`, base64 parts.
    public var passwordHash: String
    public var admin: Bool
    public var createdAt: Date

    public init(name: String, passwordHash: String, admin: Bool, createdAt: Date = Date()) {
        self.name = name
        self.passwordHash = passwordHash
        self.admin = admin
        self.createdAt = createdAt
    }
}

public struct TokenRecord: Sendable, Hashable {
    public var id: String
    public var user: String
    public var name: String
    public var hash: Data
    public var scopes: [String]
    public var createdAt: Date
    public var expiresAt: Date?
    public var revoked: Bool

    public init(
        id: String, user: String, name: String, hash: Data, scopes: [String], createdAt: Date = Date(),
        expiresAt: Date? = nil, revoked: Bool = false
    ) {
        self.id = id
        self.user = user
        self.name = name
        self.hash = hash
        self.scopes = scopes
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revoked = revoked
    }
}

public struct InstanceIdentity: Sendable, Hashable {
    public var applicationID: String
    public var publicKeyPEM: String
    public var sealedPrivateKey: Data
    public var createdAt: Date

    public init(applicationID: String, publicKeyPEM: String, sealedPrivateKey: Data, createdAt: Date = Date()) {
        self.applicationID = applicationID
        self.publicKeyPEM = publicKeyPEM
        self.sealedPrivateKey = sealedPrivateKey
        self.createdAt = createdAt
    }
}
