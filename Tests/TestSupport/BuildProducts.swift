import Foundation

/// Where `swift build` / `swift test` put the executable and the plugin libraries: the directory of the
/// running test bundle.
public enum BuildProducts {
    public static let directory: URL = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On some platforms the tests run from inside a bundle directory.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("applinks").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }()

    public static var applinks: URL { directory.appendingPathComponent("applinks") }
    public static var fixturePlugin: URL { directory.appendingPathComponent("libAppLinksTestFixture.so") }

    /// The repository root, for the SDK header.
    public static let repositoryRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }()

    public static var sdkInclude: URL { repositoryRoot.appendingPathComponent("sdk/include") }
}

/// A fresh temporary directory, removed when the value is dropped by the test that made it.
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL
    public init(_ prefix: String = "applinks-test") {
        let base = URL(fileURLWithPath: NSTemporaryDirectory())
        url = base.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        chmod(url.path, 0o755)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    public func path(_ name: String) -> URL { url.appendingPathComponent(name) }
}
