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

    @Test("the trial load and the checks of an install run in child processes, never in the CLI's own process")
    func trialLoadIsIsolated() throws {
        let cli = try CLI.initialized()
        let build = TemporaryDirectory("vendor")
        let file = build.path("libhello.so")
        let marker = build.path("loaded-by")
        // The library notes, as it is loaded, which executable loaded it and with which arguments.
        let source =
            try Self.exampleSource() + """

                #include <fcntl.h>
                #include <unistd.h>
                __attribute__((constructor)) static void note_loader(void) {
                    char exe[4096] = {0}, args[4096] = {0};
                    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
                    int cmd = open("/proc/self/cmdline", O_RDONLY);
                    ssize_t m = cmd >= 0 ? read(cmd, args, sizeof args - 1) : 0;
                    if (cmd >= 0) close(cmd);
                    for (ssize_t i = 0; i < m; i++) if (args[i] == 0) args[i] = ' ';
                    int fd = open("\(marker.path)", O_WRONLY | O_CREAT | O_APPEND, 0600);
                    if (fd >= 0 && n > 0) {
                        write(fd, exe, (size_t)n); write(fd, " :: ", 4); write(fd, args, m > 0 ? (size_t)m : 0); write(fd, "\\n", 1);
                        close(fd);
                    }
                }
                """
        try compileCPlugin(source, to: file)
        let installed = try cli.run("plugins", "install", file.path)
        #expect(installed.status == 0, "\(installed.stderr)")
        let loaders = try String(contentsOf: marker, encoding: .utf8).split(separator: "\n")
        // The plugin runner's trial load, and `plugins verify`'s child: never the installing command itself.
        #expect(loaders.contains { $0.contains("/applinks-plugin-runner :: ") }, "\(loaders)")
        #expect(
            !loaders.isEmpty
                && loaders.allSatisfy { $0.contains("/applinks-plugin-runner :: ") || $0.contains(" plugins verify --child ") },
            "\(loaders)")
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

/// `applinks plugins new`: projects outside the repository that build against the SDK as it is, then install.
@Suite("applinks plugins new")
struct PluginScaffoldTests {
    @Test("a scaffolded C plugin builds with make and a scaffolded Swift plugin with swift build; both install and load")
    func scaffolds() throws {
        let cli = try CLI.initialized()
        let work = TemporaryDirectory("scaffold")
        let sdk = ["--sdk", BuildProducts.repositoryRoot.path, "--dir", work.url.path]
        #expect(try cli.run(["plugins", "new", "Not An Id", "--lang", "c"] + sdk).stderr.contains("is not a link-type id"))

        #expect(try cli.run(["plugins", "new", "acme-widget", "--lang", "c"] + sdk).status == 0)
        let again = try cli.run(["plugins", "new", "acme-widget", "--lang", "c"] + sdk)
        #expect(again.status != 0 && again.stderr.contains("already exists"), "\(again.stderr)")
        // The source's own build line is the Makefile's: the same compiler command, file and library name.
        let source = try String(contentsOf: work.path("acme-widget/acme-widget.c"), encoding: .utf8)
        let makefile = try String(contentsOf: work.path("acme-widget/Makefile"), encoding: .utf8)
        let buildLine = try #require(source.firstMatch(of: /\(or: (cc [^)]*)\)/)?.1)
        #expect(makefile.contains(String(buildLine).replacingOccurrences(of: "libacme-widget.so", with: "$@")), "\(buildLine)\n\(makefile)")
        #expect(source.contains("Install: applinks plugins install libacme-widget.so") && !source.contains("hello.c"))
        let make = try runCommand(URL(fileURLWithPath: "/usr/bin/make"), ["-C", work.path("acme-widget").path])
        #expect(make.status == 0, "\(make.stdout)\(make.stderr)")
        let c = try cli.run("plugins", "install", work.path("acme-widget/libacme-widget.so").path)
        #expect(c.status == 0, "\(c.stderr)")

        #expect(try cli.run(["plugins", "new", "acme-swift", "--lang", "swift"] + sdk).status == 0)
        let build = try runCommand(
            URL(fileURLWithPath: "/usr/bin/env"), ["swift", "build", "--package-path", work.path("acme-swift").path],
            environment: ProcessInfo.processInfo.environment)
        #expect(build.status == 0, "\(build.stdout.suffix(2000))\(build.stderr.suffix(2000))")
        // The unit tests it came with pass, against the fake host.
        let test = try runCommand(
            URL(fileURLWithPath: "/usr/bin/env"), ["swift", "test", "--package-path", work.path("acme-swift").path],
            environment: ProcessInfo.processInfo.environment)
        #expect(
            test.status == 0 && test.stdout.contains("Test run with 3 tests") && test.stdout.contains("passed"),
            "\(test.stdout.suffix(3000))\(test.stderr.suffix(2000))")
        let swift = try cli.run("plugins", "install", work.path("acme-swift/.build/debug/libAppLinksPluginAcmeSwift.so").path)
        #expect(swift.status == 0, "\(swift.stderr)")

        let list = try cli.run("plugins", "list", "--json")
        let records = (try? JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]) ?? []
        for id in ["acme-widget", "acme-swift"] {
            #expect(records.first { $0["id"] as? String == id }?["state"] as? String == "loaded", "\(id): \(list.stdout)")
        }

        // Both pass the conformance check.
        for file in ["acme-widget/libacme-widget.so", "acme-swift/.build/debug/libAppLinksPluginAcmeSwift.so"] {
            let verified = try cli.run("plugins", "verify", work.path(file).path)
            #expect(verified.status == 0 && verified.stdout.contains("checks passed"), "\(file): \(verified.stdout)\(verified.stderr)")
        }
    }

    @Test("plugins verify runs the plugin in a child process: a crash in its status check is reported, and fails the run")
    func verifyReportsACrash() throws {
        let cli = try CLI.initialized()
        let work = TemporaryDirectory("verify")
        let source = try PluginInstallTests.exampleSource()
        let crashing = source.replacingOccurrences(
            of: "    struct hello *h = plugin_ctx;\n",
            with: "    struct hello *h = plugin_ctx;\n    if (len) { volatile int *p = NULL; *p = 1; }\n")
        #expect(crashing != source)
        try compileCPlugin(crashing, to: work.path("libcrash.so"))
        let r = try cli.run("plugins", "verify", work.path("libcrash.so").path)
        #expect(r.status != 0, "\(r.stdout)")
        #expect(r.stdout.contains("ok      the first wizard step"), "\(r.stdout)")
        #expect(
            r.stdout.contains(
                "FAILED  a status check on a dummy link, within the timeout: the plugin crashed the verifier's child process"),
            "\(r.stdout)")
        let missing = try cli.run("plugins", "verify", work.path("nothing.so").path)
        #expect(missing.status != 0 && missing.stderr.contains("No file at"), "\(missing.stderr)")
    }

    @Test("plugins install refuses what plugins verify fails, naming the failed checks, unless given --no-verify")
    func installVerifies() throws {
        let cli = try CLI.initialized()
        let work = TemporaryDirectory("install-verify")
        let source = try PluginInstallTests.exampleSource()
        // A status answer that is not JSON: it loads, but every check of its links would show UNKNOWN.
        let garbled = source.replacingOccurrences(
            of: "    struct hello *h = plugin_ctx;\n",
            with: "    struct hello *h = plugin_ctx;\n    if (len) return reply(out, \"not json\");\n")
        #expect(garbled != source)
        try compileCPlugin(garbled, to: work.path("libgarbled.so"))
        let refused = try cli.run("plugins", "install", work.path("libgarbled.so").path)
        #expect(refused.status == 7, "\(refused)")
        #expect(
            refused.stderr.contains("fails `applinks plugins verify`: a status check on a dummy link")
                && refused.stderr.contains("it is not JSON") && refused.stderr.contains("--no-verify"), "\(refused.stderr)")
        #expect(try cli.run("plugins", "list", "--json").jsonArray?.contains { $0["id"] as? String == "c-hello" } == false)
        // A status answer with a code outside the vocabulary fails verify too, which names the valid ones.
        let happy = source.replacingOccurrences(
            of: "    struct hello *h = plugin_ctx;\n",
            with:
                "    struct hello *h = plugin_ctx;\n    if (len) return reply(out, \"{\\\"category\\\":\\\"HAPPY\\\",\\\"message\\\":\\\"x\\\"}\");\n"
        )
        try compileCPlugin(happy, to: work.path("libhappy.so"))
        let verified = try cli.run("plugins", "verify", work.path("libhappy.so").path)
        #expect(
            verified.status != 0 && verified.stdout.contains("'HAPPY' is not a status category; the categories are CONNECTED"),
            "\(verified.stdout)")
        let forced = try cli.run("plugins", "install", work.path("libgarbled.so").path, "--no-verify")
        #expect(forced.status == 0, "\(forced.stderr)")
        // The example as shipped passes and installs.
        try compileCPlugin(source, to: work.path("libgood.so"))
        let good = try CLI.initialized()
        #expect(try good.run("plugins", "install", work.path("libgood.so").path).status == 0)
    }
}

/// The link types this repository ships meet the same conformance check a vendor's must.
@Suite("bundled link types pass plugins verify")
struct BundledPluginsVerifyTests {
    @Test(
        "atlassian-oauth1, oauth2-incoming, oauth2-outgoing and jenkins",
        arguments: ["AtlassianOAuth1", "OAuth2Incoming", "OAuth2Outgoing", "Jenkins"])
    func verify(name: String) throws {
        let file = BuildProducts.directory.appendingPathComponent("libAppLinksLinkType\(name).so")
        let r = try CLI().run("plugins", "verify", file.path)
        #expect(r.status == 0 && r.stdout.contains("checks passed") && !r.stdout.contains("FAILED"), "\(r.stdout)\(r.stderr)")
    }
}
