import AppLinksCore
import AppLinksCrypto
import Foundation
import TestSupport
import Testing

/// `applinks plugins install`: a vendor's plugin file, checked, copied and pinned, then enabled and disabled
/// per deployment.
@Suite("applinks plugins install")
struct PluginInstallTests {
    static func exampleSource() throws -> String {
        try String(contentsOf: BuildProducts.repositoryRoot.appendingPathComponent("sdk/examples/c-hello/hello.c"), encoding: .utf8)
    }

    @Test("installs a checked file with a pin; a wrong hash or a broken file installs nothing; a changed file is refused")
    func install() throws {
        let cli = try CLI.initialized()
        let build = TemporaryDirectory("vendor")
        let file = build.path("libhello.so")
        try compileCPlugin(try Self.exampleSource(), to: file)
        let hash = Digest.sha256(try Data(contentsOf: file)).hexString

        let wrong = try cli.run("plugins", "install", file.path, "--sha256", String(repeating: "0", count: 64))
        #expect(
            wrong.status != 0 && wrong.stderr.contains("not the expected") && wrong.stderr.contains("nothing was installed"),
            "\(wrong.stderr)")
        let notELF = build.path("libnot.so")
        try Data("not a library".utf8).write(to: notELF)
        let broken = try cli.run("plugins", "install", notELF.path)
        #expect(
            broken.status != 0 && broken.stderr.contains("no ELF header") && broken.stderr.contains("Nothing was installed"),
            "\(broken.stderr)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: cli.home.appendingPathComponent("plugins").path).filter {
                $0.hasSuffix(".so")
            }.isEmpty)

        let installed = try cli.run("plugins", "install", file.path, "--sha256", hash, "--json")
        #expect(installed.status == 0, "\(installed.stderr)")
        let target = cli.home.appendingPathComponent("plugins/libapplinks-c-hello.so").path
        #expect(installed.jsonObject?["path"] as? String == target && installed.jsonObject?["sha256"] as? String == hash)
        let attributes = try FileManager.default.attributesOfItem(atPath: target)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o022 } == 0, "no one but the owner may change it")
        #expect(try String(contentsOf: cli.home.appendingPathComponent("plugins/pins"), encoding: .utf8) == "c-hello=\(hash)\n")

        let info = try cli.run("plugins", "info", "c-hello", "--json")
        let plugin = info.jsonObject?["plugin"] as? [String: Any]
        #expect(plugin?["state"] as? String == "loaded" && plugin?["sha256"] as? String == hash, "\(info.stdout)")
        let actions = ((info.jsonObject?["descriptor"] as? [String: Any])?["actions"] as? [[String: Any]])?.compactMap {
            $0["id"] as? String
        }
        #expect(actions == ["greet"])
        #expect(try cli.run("plugins", "disable", "c-hello").status == 0)
        #expect(try cli.run("plugins", "list", "--json").stdout.contains(#""state" : "disabled""#))
        #expect(try cli.run("plugins", "enable", "c-hello").status == 0)

        // Someone replaces the installed file: its pin no longer matches, and it is refused.
        try compileCPlugin(try Self.exampleSource() + "\nint tampered = 1;\n", to: build.path("libother.so"))
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: build.path("libother.so").path, toPath: target)
        let list = try cli.run("plugins", "list")
        #expect(list.stdout.contains("does not match the pin"), "\(list.stdout)\(list.stderr)")
    }
}
