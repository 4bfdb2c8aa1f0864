/// Text fit for messages and logs, with the secrets in it masked.
///
/// ```swift
/// Redaction.url("postgres://app:hunter2@db/applinks")  // "postgres://app:****@db/applinks"
/// ```
public enum Redaction {
    /// `text` with the password of any `scheme://user:password@` in it masked, as psql shows a connection string.
    public static func url(_ text: String) -> String {
        text.replacing(/(:\/\/[^:\/@\s]*:)[^@\s]*@/) { "\($0.output.1)****@" }
    }
}
