import NIOHTTP1

/// What a test sends HTTP requests to: a real `applinks serve` process (``RunningServer``), or the same app run in
/// the test's own process. A helper written against this, such as a cookie-keeping browser, works with both.
public protocol ServerUnderTest: Sendable {
    func send(
        _ method: String, _ path: String, headers: [(String, String)], body: String?
    ) async throws
        -> (status: Int, headers: HTTPHeaders, body: String)
}

extension ServerUnderTest {
    public func get(_ path: String, headers: [(String, String)] = []) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
        try await send("GET", path, headers: headers, body: nil)
    }
}
