import AppLinksCore

/// The errors every backend reports in the same words, so that an admin reads the same message whichever store
/// the deployment runs on.
public enum StoreFailure {
    public static func linkExists(_ id: String, cause: (any Error)? = nil) -> AppLinksError {
        AppLinksError(.conflict, "A link with id \(id) already exists.", cause: cause)
    }

    public static func linkGone(_ id: String) -> AppLinksError {
        AppLinksError(.notFound, "The link \(id) no longer exists.")
    }

    public static func versionConflict(name: String, current: Int, expected: Int) -> AppLinksError {
        AppLinksError(
            .conflict,
            "The link '\(name)' was changed by someone else (version \(current), expected \(expected)). Reload it and try again.")
    }

    public static func userExists(_ name: String, cause: (any Error)? = nil) -> AppLinksError {
        AppLinksError(
            .conflict, "A user named '\(name)' already exists. Choose another name, or use `applinks users passwd`.", cause: cause)
    }

    public static func noUser(_ name: String) -> AppLinksError {
        AppLinksError(.notFound, "No user named '\(name)'. Run `applinks users list`.")
    }

    public static func tokenRefused(user: String, cause: (any Error)? = nil) -> AppLinksError {
        AppLinksError(.invalidInput, "Cannot store the token: no user named '\(user)', or the token exists.", cause: cause)
    }
}
