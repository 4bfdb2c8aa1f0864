import AppLinksHost
import AppLinksPluginRuntime
import Foundation

/// What `applinks --version` prints: the version, and the git commit an installed copy was built from, which
/// `Scripts/install.sh` records in `PREFIX/share/applinks/BUILD`.
enum BuildInfo {
    static let text: String = {
        guard let exe = PluginLoader.currentExecutableDirectory,
            let recorded = try? String(
                contentsOf: exe.deletingLastPathComponent().appendingPathComponent("share/applinks/BUILD"), encoding: .utf8)
        else { return "\(Deployment.version) (development build)" }
        let commit = recorded.split(separator: "\n").first { $0.hasPrefix("commit ") }.map { String($0.dropFirst(7)) } ?? "unknown"
        return "\(Deployment.version) (commit \(commit))"
    }()
}
