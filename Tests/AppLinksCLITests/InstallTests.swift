import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("Scripts/install.sh")
struct InstallTests {
    @Test("installs a tree that runs without the checkout: init, serve with its pages, and a link created with its link types")
    func installedTree() async throws {
        let dir = TemporaryDirectory("install")
        let prefix = dir.path("prefix")
        let script = BuildProducts.repositoryRoot.appendingPathComponent("Scripts/install.sh")
        let installed = try runCommand(
            URL(fileURLWithPath: "/bin/bash"),
            [script.path, "--prefix", prefix.path, "--configuration", "debug", "--no-build", "--bin-path", BuildProducts.directory.path],
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
        #expect(installed.status == 0, "\(installed.stderr)")

        // Only the owner may write anything in the tree; programs are executable, the rest is not.
        let fm = FileManager.default
        let files = try #require(fm.enumerator(atPath: prefix.path)).compactMap { $0 as? String }
        #expect(files.contains("bin/applinks") && files.contains("bin/applinks-plugin-runner"))
        #expect(files.contains("lib/applinks/plugins/libAppLinksLinkTypeOAuth2Incoming.so"))
        #expect(files.contains("share/applinks/Web/templates/message.mustache") && files.contains("share/applinks/BUILD"))
        // A man page for the tool and one for each command, from the commands' own help.
        let manual = try String(contentsOf: prefix.appendingPathComponent("share/man/man1/applinks.serve.1"), encoding: .utf8)
        #expect(manual.contains(".Dt APPLINKS.SERVE 1") && manual.contains("Fl -listen"), "\(manual.prefix(600))")
        #expect(files.contains("share/man/man1/applinks.1") && files.contains("share/man/man1/applinks.backup.1"))
        for file in files {
            let mode = try #require(fm.attributesOfItem(atPath: prefix.appendingPathComponent(file).path)[.posixPermissions] as? Int)
            #expect(mode & 0o022 == 0, "\(file) is writable by others: \(String(mode, radix: 8))")
            if file.hasPrefix("bin/") { #expect(mode == 0o755, "\(file): \(String(mode, radix: 8))") }
            if file.hasSuffix(".so") || file.hasSuffix(".mustache") || file.hasSuffix(".1") {
                #expect(mode == 0o644, "\(file): \(String(mode, radix: 8))")
            }
        }

        let applinks = prefix.appendingPathComponent("bin/applinks")
        let home = dir.path("home")
        let env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "APPLINKS_HOME": home.path]
        let version = try runCommand(applinks, ["--version"], environment: env)
        #expect(version.stdout.firstMatch(of: /^\d+\.\d+\.\d+ \(commit [0-9a-f]{12}/) != nil, "\(version.stdout)")
        #expect(try runCommand(applinks, ["init"], environment: env).status == 0)
        let plugins = try runCommand(applinks, ["plugins", "list", "--json"], environment: env)
        let records = (try? JSONSerialization.jsonObject(with: Data(plugins.stdout.utf8)) as? [[String: Any]]) ?? []
        let loaded = records.filter { $0["state"] as? String == "loaded" }.compactMap { $0["path"] as? String }
        #expect(loaded.count == 4 && loaded.allSatisfy { $0.hasPrefix(prefix.path + "/lib/applinks/plugins/") }, "\(plugins.stdout)")
        let created = try runCommand(
            applinks,
            [
                "create", "oauth2-incoming", "--set", "name=Installed", "--set", "redirect_url=https://x.example.com/cb", "--set",
                "scopes=REPO_READ",
            ],
            environment: env)
        #expect(created.status == 0, "\(created.stderr)")

        // serve finds its templates and static files in the tree.
        let serve = Process()
        serve.executableURL = applinks
        serve.arguments = ["serve", "--listen", "127.0.0.1:0"]
        serve.environment = env
        let out = Pipe()
        serve.standardOutput = out
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { serve.terminate() }
        var text = ""
        while text.firstMatch(of: /127\.0\.0\.1:(\d+)/) == nil {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let port = try #require(text.firstMatch(of: /127\.0\.0\.1:(\d+)/).map { String($0.1) }, "\(text)")
        let (page, pageResponse) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/setup")!)
        let html = String(decoding: page, as: UTF8.self)
        #expect((pageResponse as? HTTPURLResponse)?.statusCode == 200 && html.contains("Set up AppLinks"), "\(html)")
        let css = try #require(html.firstMatch(of: /href="(\/static\/applinks\.[0-9a-f]+\.css)"/).map { String($0.1) })
        let (_, cssResponse) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(css)")!)
        #expect((cssResponse as? HTTPURLResponse)?.statusCode == 200)
    }
}
