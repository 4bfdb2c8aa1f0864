import AppLinksCore
import Foundation
import TestSupport
import Testing

/// Runs the real `applinks` executable against a temporary home with the fixture link type.
struct CLI {
    let dir = TemporaryDirectory("cli")
    var home: URL { dir.path("home") }
    var env: [String: String] {
        [
            "APPLINKS_HOME": home.path, "APPLINKS_PLUGINS_PATHS": BuildProducts.fixturePlugin.path,
            "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "false", "APPLINKS_HTTP_ALLOW_PRIVATE_ADDRESSES": "true",
        ]
    }

    @discardableResult
    func run(_ args: String..., stdin: String? = nil, env extra: [String: String] = [:]) throws -> CommandResult {
        try run(args, stdin: stdin, env: extra)
    }

    @discardableResult
    func run(_ args: [String], stdin: String? = nil, env extra: [String: String] = [:]) throws -> CommandResult {
        try runCommand(BuildProducts.applinks, args, environment: env.merging(extra) { _, n in n }, stdin: stdin)
    }

    static func initialized() throws -> CLI {
        let cli = CLI()
        let r = try cli.run("init", "--name", "CLI test", "--base-url", "http://127.0.0.1:8090")
        precondition(r.status == 0, r.stderr)
        return cli
    }

    @discardableResult
    func createLink(_ name: String, url: String = "https://remote.example.com") throws -> [String: Any] {
        let r = try run("create", "fixture", "--set", "name=\(name)", "--set", "url=\(url)", "--set", "token=t0k3n", "--json")
        precondition(r.status == 0, r.stderr)
        return r.jsonObject!
    }
}

@Suite("applinks CLI")
struct CLITests {
    @Test(
        "every command but init, run on a home that doesn't exist, says how to create one",
        arguments: [
            ["list"], ["show", "x"], ["create", "fixture"], ["edit", "x", "--set", "name=y"], ["delete", "x", "--yes"],
            ["status", "--all"],
            ["actions", "x"], ["action", "x", "echo"], ["make-primary", "x"], ["relocate", "x", "https://y"], ["plugins", "list"],
            ["plugins", "enable", "fixture"], ["audit"],
        ])
    func missingHome(args: [String]) throws {
        let cli = CLI()
        let text = try runCommand(BuildProducts.applinks, args, environment: cli.env)
        #expect(text.status == 3 && text.stdout.isEmpty)
        #expect(
            text.stderr.contains("No AppLinks deployment at \(cli.home.path)")
                && text.stderr.contains("applinks init --home \(cli.home.path)"))
        // With --json the same error is JSON on stdout, and only there: one stream per mode.
        let r = try runCommand(BuildProducts.applinks, args + ["--json"], environment: cli.env)
        #expect(r.status == 3 && r.stderr.isEmpty, "\(r.stderr)")
        #expect(
            r.jsonObject?["error"] as? [String: String] == [
                "code": "home_missing", "message": text.stderr.dropFirst("applinks: error: ".count).trimmingCharacters(in: .newlines),
            ])
        #expect(!text.stderr.contains("Fatal") && !text.stderr.contains("Stack"))
        #expect(!FileManager.default.fileExists(atPath: cli.home.path), "nothing may be created")
    }

    @Test("init creates a commented config, a 0600 master key and an identity; a second init changes nothing")
    func initHome() throws {
        let cli = CLI()
        let r = try cli.run("init", "--name", "Build server", "--base-url", "https://ci.example.com", "--listen", "0.0.0.0:8443", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(r.jsonObject)
        #expect(
            obj["name"] as? String == "Build server" && obj["base_url"] as? String == "https://ci.example.com"
                && obj["listen"] as? String == "0.0.0.0:8443")
        #expect(UUID(uuidString: obj["application_id"] as? String ?? "") != nil)
        for file in ["master.key", "applinks.db", "config.yaml"] {
            let attrs = try FileManager.default.attributesOfItem(atPath: cli.home.appendingPathComponent(file).path)
            #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(file) must be private")
        }
        let config = try String(contentsOf: cli.home.appendingPathComponent("config.yaml"), encoding: .utf8)
        #expect(config.contains("# AppLinks deployment configuration.") && config.contains("base_url: \"https://ci.example.com\""))
        let again = try cli.run("init")
        #expect(again.status == 5 && again.stderr.contains("already exists") && again.stderr.contains("nothing was changed"))
        #expect(try String(contentsOf: cli.home.appendingPathComponent("config.yaml"), encoding: .utf8) == config)
        let bad = CLI()
        let r2 = try bad.run("init", "--base-url", "not a url")
        #expect(r2.status == 2 && r2.stderr.contains("--base-url 'not a url' must be an absolute http://"))
        let r3 = try bad.run("init", "--listen", "8080")
        #expect(r3.status == 2 && r3.stderr.contains("'8080' is not HOST:PORT"))
        // With the key in the environment, init says so, and names no file it did not write.
        let fromEnv = CLI()
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let r4 = try fromEnv.run(["init"], env: ["APPLINKS_MASTER_KEY": key])
        #expect(r4.status == 0 && r4.stdout.contains("from APPLINKS_MASTER_KEY") && !r4.stdout.contains("master.key"), "\(r4.stdout)")
        #expect(!FileManager.default.fileExists(atPath: fromEnv.home.appendingPathComponent("master.key").path))
    }

    @Test("list --json gives each link in the documented shape, and filters by type and status")
    func listJSON() throws {
        let cli = try CLI.initialized()
        let created = try cli.createLink("Jira")
        try cli.createLink("Confluence")
        #expect(try cli.run("edit", "Confluence", "--set", "config.behaviour=generic").status == 0)
        let r = try cli.run("list", "--json")
        #expect(r.status == 0)
        let links = try #require(r.jsonArray)
        #expect(links.map { $0["name"] as? String } == ["Confluence", "Jira"])
        let jira = try #require(links.first { $0["name"] as? String == "Jira" })
        #expect(jira["id"] as? String == created["id"] as? String && jira["type"] as? String == "fixture")
        #expect(jira["direction"] as? String == "two_way" && jira["enabled"] as? Bool == true && jira["primary"] is Bool)
        let app = try #require(jira["application"] as? [String: Any])
        #expect(app["name"] as? String == "Generic application" && app["type"] as? String == "generic")
        #expect(app["version"] is NSNull && app["id"] is NSNull)
        let status = try #require(jira["status"] as? [String: Any])
        #expect(Set(status.keys) == ["category", "error_type", "message", "checked_at"] && status["category"] as? String == "CONNECTED")
        #expect(jira["urls"] as? [String: String] == ["display": "https://remote.example.com", "rpc": "https://remote.example.com"])
        #expect(
            jira["actions"] as? [String] == ["echo", "relocate", "selftest", "rename", "register-consumer", "set-token"],
            "the table's Actions column")
        #expect(try cli.run("status", "Jira").status == 0)
        #expect(try cli.run("list", "--status", "connected", "--json").jsonArray?.map { $0["name"] as? String } == ["Jira"])
        #expect(try cli.run("list", "--type", "other", "--json").jsonArray?.isEmpty == true)
        let bad = try cli.run("list", "--status", "happy")
        #expect(bad.status == 2 && bad.stderr.contains("--status 'happy' is not a status category. Use one of: CONNECTED"))
    }

    @Test("the Application column names the link, then the remote's product and version once")
    func applicationColumn() throws {
        let cli = try CLI.initialized()
        let r = try cli.run(
            "create", "fixture", "--set", "name=Host B", "--set", "url=https://b.example.com", "--set", "token=t0k3n", "--set",
            "application=applinks")
        #expect(r.status == 0, "\(r.stderr)")
        try cli.createLink("Jira")
        let table = try cli.run("list").stdout
        #expect(table.contains("Host B (AppLinks 0.1.0)"), "\(table)")
        #expect(!table.contains("Host B (Host B") && table.contains("Jira (Generic application)"), "\(table)")
    }

    @Test("an action prints text unless --json is given, and actions lists its columns lined up")
    func actionText() throws {
        let cli = try CLI.initialized()
        try cli.createLink("Jira")
        let text = try cli.run("action", "Jira", "echo", "--arg", "text=hello there")
        #expect(
            text.status == 0 && text.stdout.hasPrefix("echoed\n") && text.stdout.contains("\ntext: hello there")
                && !text.stdout.contains("{"), "\(text.stdout)")
        let json = try cli.run("action", "Jira", "echo", "--arg", "text=hello there", "--json")
        #expect((json.jsonObject?["output"] as? [String: Any])?["text"] as? String == "hello there", "\(json.stdout)")
        let actions = try cli.run("actions", "Jira").stdout.split(separator: "\n").map(String.init)
        let titled = actions.filter { !$0.hasPrefix(" ") }
        let offsets = Set(
            titled.compactMap { line in
                line.range(of: "  ").map { r in
                    line[r.upperBound...].firstIndex { $0 != " " }.map { line.distance(from: line.startIndex, to: $0) }
                } ?? nil
            })
        #expect(titled.count >= 3 && offsets.count == 1, "titles start in one column: \(actions)")
    }

    @Test("status exits 8 when a checked link is in an error category; --quiet prints only the broken ones")
    func statusExitCodes() throws {
        let cli = try CLI.initialized()
        try cli.createLink("Jira")
        try cli.createLink("Wiki")
        #expect(try cli.run("status", "--all").status == 0)
        #expect(try cli.run("edit", "Wiki", "--set", "config.behaviour=nonsense").status == 0)
        let broken = try cli.run("status", "--all")
        #expect(
            broken.status == 8 && broken.stdout.contains("Jira: CONNECTED") && broken.stdout.contains("Wiki: CONFIG_ERROR"), "\(broken)")
        let quiet = try cli.run("status", "--all", "--quiet")
        #expect(quiet.status == 8 && !quiet.stdout.contains("Jira") && quiet.stdout.contains("Wiki: CONFIG_ERROR"), "\(quiet)")
        let quietJSON = try cli.run("status", "--all", "--quiet", "--json")
        #expect(quietJSON.status == 8 && quietJSON.jsonArray?.compactMap { $0["name"] as? String } == ["Wiki"], "\(quietJSON)")
        #expect(try cli.run("status", "Jira", "--quiet").stdout.isEmpty)
        // A link that is disabled is not broken.
        #expect(try cli.run("edit", "Wiki", "--set", "enabled=false").status == 0)
        #expect(try cli.run("status", "--all", "--quiet").status == 0)
    }

    @Test("the table shows Application, Type, Direction, Status and Actions, coloured only on a terminal without NO_COLOR")
    func table() throws {
        let cli = try CLI.initialized()
        try cli.createLink("Jira")
        try cli.run("status", "--all")
        let plain = try cli.run("list")
        let lines = plain.stdout.split(separator: "\n")
        #expect(
            lines.first?.split(separator: " ", omittingEmptySubsequences: true) == [
                "ID", "Application", "Type", "Direction", "Status", "Actions",
            ])
        #expect(
            lines.count == 2 && lines[1].contains("Jira (Generic application) *") && lines[1].contains("Test fixture")
                && lines[1].contains("Two-way") && lines[1].contains("CONNECTED") && lines[1].contains("echo, relocate, selftest, rename"))
        #expect(!plain.stdout.contains("\u{1B}["))
        let tty = try PseudoTerminal(BuildProducts.applinks, ["list"], environment: cli.env)
        #expect(tty.wait() == 0)
        #expect(tty.screen.contains("\u{1B}[32mCONNECTED"), "green status on a terminal")
        let progress = try PseudoTerminal(BuildProducts.applinks, ["status", "--all"], environment: cli.env)
        #expect(progress.wait() == 0)
        #expect(progress.screen.contains("[##############################] 1/1"), "a progress bar on a terminal")
        #expect(try cli.run("status", "--all").stderr.isEmpty, "no progress bar when stderr is not a terminal")
        let noColor = try PseudoTerminal(BuildProducts.applinks, ["list"], environment: cli.env.merging(["NO_COLOR": "1"]) { _, n in n })
        #expect(noColor.wait() == 0)
        #expect(noColor.screen.contains("CONNECTED") && !noColor.screen.contains("\u{1B}["))
    }

    @Test("show, edit, make-primary, relocate and delete by id prefix or name")
    func linkCommands() throws {
        let cli = try CLI.initialized()
        let jira = try cli.createLink("Jira")
        let id = try #require(jira["id"] as? String)
        try cli.createLink("Jira copy")
        #expect(try cli.run("show", String(id.prefix(6)), "--json").jsonObject?["name"] as? String == "Jira")
        #expect(try cli.run("show", "jira copy", "--json").jsonObject?["primary"] as? Bool == false)
        let ambiguous = try cli.run("show", "j")
        #expect(ambiguous.status == 4 && ambiguous.stderr.contains("No link matches 'j'"))
        let edited = try cli.run("edit", "Jira", "--set", "name=Jira Prod", "--set", "rpc_url=http://jira.internal", "--json")
        #expect(edited.status == 0 && edited.jsonObject?["name"] as? String == "Jira Prod" && edited.jsonObject?["version"] as? Int == 2)
        let badEdit = try cli.run("edit", "Jira Prod", "--set", "flavour=mint")
        #expect(badEdit.status == 2 && badEdit.stderr.contains("'flavour' cannot be edited"))
        let badPair = try cli.run("edit", "Jira Prod", "--set", "name")
        #expect(badPair.status == 2 && badPair.stderr.contains("--set 'name' is not KEY=VALUE"))
        #expect(try cli.run("make-primary", "Jira copy", "--json").jsonObject?["primary"] as? Bool == true)
        #expect(try cli.run("show", "Jira Prod", "--json").jsonObject?["primary"] as? Bool == false)
        let moved = try cli.run("relocate", "Jira Prod", "https://jira2.example.com", "--json")
        #expect((moved.jsonObject?["urls"] as? [String: String])?["display"] == "https://jira2.example.com")
        let refused = try cli.run("relocate", "Jira Prod", "https://forbidden.example.com")
        #expect(refused.status == 2 && refused.stderr.contains("relocation refused"))
        let noConfirm = try cli.run("delete", "Jira Prod")
        #expect(noConfirm.status == 2 && noConfirm.stderr.contains("pass --yes"))
        #expect(try cli.run("delete", "Jira Prod", "--yes").status == 0)
        #expect(try cli.run("list", "--json").jsonArray?.map { $0["name"] as? String } == ["Jira copy"])
    }

    @Test("create without a terminal: every missing field is named, exit 6, and --resume finishes the draft")
    func createNonInteractive() throws {
        let cli = try CLI.initialized()
        let r = try cli.run("create", "fixture", "--set", "name=Half")
        #expect(r.status == 6 && r.stderr.contains("url: Remote URL is required; pass --set url=…"))
        let draft = try #require(r.stderr.firstMatch(of: /--resume (d-[0-9a-f]+)/)?.1)
        #expect(r.stderr.contains("the draft is removed 24 hours after its last change"), "\(r.stderr)")
        #expect(try cli.run("list", "--json").jsonArray?.isEmpty == true)
        // The draft is listed, with when it goes; a second failed run leaves another, which is discarded.
        let listed = try #require(try cli.run("drafts", "--json").jsonArray)
        #expect(listed.map { $0["id"] as? String } == [String(draft)] && listed.first?["expires_at"] is String, "\(listed)")
        let second = try cli.run("create", "fixture", "--set", "name=Other")
        let other = try #require(second.stderr.firstMatch(of: /--resume (d-[0-9a-f]+)/)?.1)
        #expect(try cli.run("drafts").stdout.contains(String(other)))
        #expect(try cli.run("drafts", "delete", String(other)).status == 0)
        #expect(try cli.run("drafts", "--json").jsonArray?.count == 1)
        #expect(try cli.run("drafts", "delete", String(other)).status == 4)
        // A field no step reads is a typo: refused before anything starts, with every step's fields.
        let typo = try cli.run("create", "fixture", "--set", "name=Typo", "--set", "ulr=https://typo.example.com")
        #expect(typo.status == 2 && typo.stderr.contains("has no field 'ulr'") && typo.stderr.contains("remote: name, url, application"))
        #expect(try cli.run("drafts", "--json").jsonArray?.count == 1, "nothing was started")
        let answers = cli.dir.path("answers.json")
        try Data(#"{"url": "https://half.example.com", "token": "tok3n", "incoming": false}"#.utf8).write(to: answers)
        let done = try cli.run("create", "--resume", String(draft), "--answers", answers.path, "--json")
        #expect(done.status == 0, "\(done.stderr)")
        #expect(done.jsonObject?["name"] as? String == "Half" && done.jsonObject?["direction"] as? String == "outgoing")
        let unknownType = try cli.run("create", "jenkinz")
        #expect(unknownType.status == 4 && unknownType.stderr.contains("No link type 'jenkinz' is installed. Known types: fixture."))
        let both = try cli.run("create", "fixture", "--resume", "d-1")
        #expect(both.status == 2)
        try Data("[1,2]".utf8).write(to: answers)
        let badFile = try cli.run("create", "fixture", "--answers", answers.path)
        #expect(badFile.status == 2 && badFile.stderr.contains("must hold a JSON object"))
    }

    @Test("--no-wait leaves a pending draft and prints the URL to open")
    func noWait() throws {
        let cli = try CLI.initialized()
        let r = try cli.run(
            "create", "fixture", "--set", "name=W", "--set", "url=https://w.example.com", "--set", "token=abcd",
            "--set", "require_approval=true", "--no-wait", "--json")
        #expect(r.status == 0)
        let obj = try #require(r.jsonObject)
        let draft = try #require(obj["draft_id"] as? String)
        #expect(
            obj["state"] as? String == "pending" && obj["url"] as? String == "http://127.0.0.1:1/plugins/fixture/approve?draft=\(draft)")
        #expect(r.stderr.contains("Open this URL in a browser:"))
        let waited = try cli.run("create", "--resume", draft, env: ["APPLINKS_WIZARD_TIMEOUT_SECONDS": "0.3"])
        #expect(waited.status == 75 && waited.stderr.contains("Gave up waiting") && waited.stderr.contains("--resume \(draft)"))
    }

    @Test("on a terminal the wizard prompts, hides secrets, re-asks a wrong answer, and Ctrl-C leaves a resumable draft")
    func interactiveWizard() throws {
        let cli = try CLI.initialized()
        let tty = try PseudoTerminal(BuildProducts.applinks, ["create", "fixture"], environment: cli.env)
        #expect(tty.expect("Link name: "))
        tty.type("Interactive\r")
        #expect(tty.expect("Remote URL: "))
        tty.type("gopher://nope\r")
        #expect(tty.expect("Application type:"))
        #expect(tty.expect("Choose [generic]: "))
        tty.type("2\r")
        #expect(tty.expect("! 'gopher://nope' is not an http(s) URL"))
        tty.type("https://i.example.com\r")
        #expect(tty.expect("Shared token: "))
        tty.type("hidden-Secret-123\r")
        #expect(tty.expect("Accept incoming requests [Y/n]: "))
        tty.type("\r")
        #expect(tty.expect("Make outgoing requests [Y/n]: "))
        tty.type("n\r")
        #expect(tty.expect("Seconds the browser step takes [0]: "))
        tty.type("\r")
        #expect(tty.expect("Created incoming link 'Interactive'"))
        #expect(tty.wait() == 0)
        #expect(!tty.screen.contains("hidden-Secret-123"), "a secret must not be echoed")
        let link = try #require(try cli.run("show", "Interactive", "--json").jsonObject)
        #expect(link["direction"] as? String == "incoming" && (link["application"] as? [String: Any])?["name"] as? String == "AppLinks")

        let second = try PseudoTerminal(BuildProducts.applinks, ["create", "fixture"], environment: cli.env)
        #expect(second.expect("Link name: "))
        second.type("Interrupted\r")
        #expect(second.expect("Remote URL: "))
        kill(second.process.processIdentifier, SIGINT)
        #expect(second.wait() == 130)
        let draft = try #require(second.screen.firstMatch(of: /--resume (d-[0-9a-f]+)/)?.1)
        #expect(second.screen.contains("interrupted. Nothing was created"))
        #expect(try cli.run("list", "--json").jsonArray?.count == 1)
        let resumed = try cli.run(
            "create", "--resume", String(draft), "--set", "url=https://r.example.com", "--set", "token=abcd", "--json")
        #expect(resumed.status == 0 && resumed.jsonObject?["name"] as? String == "Interrupted")
    }

    @Test("a secret argument is read from standard input, a file or a hidden prompt; a failed action is audited without it")
    func secretArguments() throws {
        let cli = try CLI.initialized()
        try cli.createLink("Jira")
        let piped = try cli.run("action", "Jira", "set-token", "--arg-stdin", "token", stdin: "piped-Secret-1\n")
        #expect(piped.status == 0 && piped.stdout.contains("replaced") && !piped.stderr.contains("warning"), "\(piped)")
        let file = cli.dir.path("token.txt")
        try Data("file-Secret-2\n".utf8).write(to: file)
        #expect(try cli.run("action", "Jira", "set-token", "--arg", "token=@\(file.path)").status == 0)
        let missingFile = try cli.run("action", "Jira", "set-token", "--arg", "token=@\(cli.dir.path("nope").path)")
        #expect(missingFile.status == 2 && missingFile.stderr.contains("cannot read"), "\(missingFile)")
        let inline = try cli.run("action", "Jira", "set-token", "--arg", "token=inline-Secret-3")
        #expect(inline.status == 0 && inline.stderr.contains("--arg-stdin token"), "a secret on the command line is warned about")
        let none = try cli.run("action", "Jira", "set-token")
        #expect(none.status == 2 && none.stderr.contains("token is required (--arg-stdin token, or --arg token=@FILE)"), "\(none)")
        let twice = try cli.run("action", "Jira", "set-token", "--arg", "token=abcd", "--arg-stdin", "token", stdin: "y")
        #expect(twice.status == 2 && twice.stderr.contains("given twice"), "\(twice)")
        let stranger = try cli.run("action", "Jira", "set-token", "--arg-stdin", "nope", stdin: "x")
        #expect(stranger.status == 2 && stranger.stderr.contains("has no parameter 'nope' (it takes token).\n"), "\(stranger)")
        // On a terminal, a required secret that was not given is asked for with echo off.
        let tty = try PseudoTerminal(BuildProducts.applinks, ["action", "Jira", "set-token"], environment: cli.env)
        #expect(tty.expect("token (The new token): "))
        tty.type("typed-Secret-4\r")
        #expect(tty.wait() == 0)
        #expect(tty.screen.contains("replaced") && !tty.screen.contains("typed-Secret-4"), "\(tty.screen)")
        // The remote refuses this one: the failure is audited, with why, and without the secret.
        let refused = try cli.run("action", "Jira", "set-token", "--arg-stdin", "token", stdin: "wrong")
        #expect(refused.status != 0 && refused.stderr.contains("refused this token"))
        let audit = try cli.run("audit", "--json").stdout
        #expect(audit.contains("action-failed") && audit.contains("refused this token"), "\(audit)")
        for secret in ["piped-Secret-1", "file-Secret-2", "inline-Secret-3", "typed-Secret-4", "\"wrong\""] {
            #expect(!audit.contains(secret), "\(secret) in the audit log")
        }
    }

    @Test("status, actions and typed action arguments")
    func statusAndActions() throws {
        let cli = try CLI.initialized()
        try cli.createLink("Jira")
        let none = try cli.run("status")
        #expect(none.status == 2 && none.stderr.contains("Name the links to check, or pass --all."))
        let s = try cli.run("status", "--all", "--json")
        #expect((s.jsonArray?.first?["status"] as? [String: Any])?["category"] as? String == "CONNECTED")
        let actions = try cli.run("actions", "Jira")
        // Padded into columns: the parameter, then at least two spaces, then its use.
        #expect(
            actions.stdout.contains(/--arg count=<int> {2,}default 1/)
                && actions.stdout.contains(/--arg text=<string> {2,}required; Any text/),
            "\(actions.stdout)")
        let json = try #require(try cli.run("actions", "Jira", "--json").jsonArray)
        #expect(json.map { $0["id"] as? String } == ["echo", "relocate", "selftest", "rename", "register-consumer", "set-token"])
        let ok = try cli.run("action", "Jira", "echo", "--arg", "text=a=b", "--arg", "count=7", "--json")
        #expect(ok.status == 0 && (ok.jsonObject?["output"] as? [String: Any])?["text"] as? String == "a=b")
        #expect((ok.jsonObject?["output"] as? [String: Any])?["count"] as? Int == 7)
        let wrong = try cli.run("action", "Jira", "echo", "--arg", "text=x", "--arg", "count=seven")
        #expect(wrong.status == 2 && wrong.stderr.contains("count must be a whole number, not 'seven'"))
        let unknown = try cli.run("action", "Jira", "dance")
        #expect(unknown.status == 4 && unknown.stderr.contains("Its actions: echo, relocate, selftest, rename"))
    }

    @Test("a link's status is current right after create, edit, an action that changes it, and relocate")
    func freshStatuses() throws {
        let cli = try CLI.initialized()
        let created = try cli.createLink("Jira")
        #expect((created["status"] as? [String: Any])?["category"] as? String == "CONNECTED")
        func category() throws -> String? {
            (try cli.run("list", "--json").jsonArray?.first?["status"] as? [String: Any])?["category"] as? String
        }
        #expect(try category() == "CONNECTED")
        #expect(try cli.run("edit", "Jira", "--set", "config.behaviour=generic").status == 0)
        #expect(try category() == "NON_ATLASSIAN")
        #expect(try cli.run("edit", "Jira", "--set", "config.behaviour=connected").status == 0)
        #expect(try category() == "CONNECTED")
        // An empty token drops the secret the fixture's status check needs.
        let forget = try cli.run("action", "Jira", "set-token", "--arg", "token=")
        #expect(forget.status == 0, "\(forget.stderr)")
        #expect(try category() == "ACCESS_ERROR")
        #expect(try cli.run("relocate", "Jira", "https://moved.example.com").status == 0)
        #expect(try category() == "ACCESS_ERROR")
        #expect(try cli.run("edit", "Jira", "--set", "enabled=false").status == 0)
        #expect(try category() == "DISABLED")
        #expect(try cli.run("edit", "Jira", "--set", "enabled=true").status == 0)
        #expect(try category() == "ACCESS_ERROR")
    }

    @Test("a master key that is not the deployment's is refused before any command touches the data")
    func wrongMasterKey() throws {
        let cli = try CLI.initialized()
        try cli.createLink("Jira")
        let keyFile = cli.home.appendingPathComponent("master.key")
        let right = try Data(contentsOf: keyFile)
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedData().write(to: keyFile)
        chmod(keyFile.path, 0o600)
        for args in [["list"], ["status", "--all"], ["serve", "--listen", "127.0.0.1:0"]] {
            let r = try cli.run(args)
            #expect(r.status == 2 && r.stderr.contains("does not open this deployment's sealed instance key"), "\(args): \(r)")
        }
        try right.write(to: keyFile)
        chmod(keyFile.path, 0o600)
        let after = try cli.run("list", "--json")
        #expect((after.jsonArray?.first?["status"] as? [String: Any])?["category"] as? String == "CONNECTED", "nothing was marked")
    }

    @Test("plugins list, info, disable and enable; a disabled type's links show DISABLED")
    func plugins() throws {
        let cli = try CLI.initialized()
        try cli.createLink("Jira")
        let list = try #require(try cli.run("plugins", "list", "--json").jsonArray)
        #expect(list.count == 1)
        let p = list[0]
        for key in ["id", "name", "version", "vendor", "abi_version", "path", "enabled", "state"] {
            #expect(p[key] != nil, "missing \(key)")
        }
        #expect(p["id"] as? String == "fixture" && p["abi_version"] as? String == "1.3" && p["state"] as? String == "loaded")
        #expect(p["path"] as? String == BuildProducts.fixturePlugin.path && p["enabled"] as? Bool == true)
        let info = try cli.run("plugins", "info", "fixture")
        #expect(info.stdout.contains("sha256") && info.stdout.contains("wizard      remote → auth → authorize"))
        #expect(try cli.run("plugins", "disable", "fixture").status == 0)
        #expect(try cli.run("plugins", "list", "--json").jsonArray?.first?["state"] as? String == "disabled")
        // DISABLED at once, and the current status again right after enabling: no `status` run in between.
        #expect(try cli.run("list", "--status", "DISABLED", "--json").jsonArray?.count == 1)
        let blocked = try cli.run("create", "fixture", "--set", "name=x")
        #expect(blocked.status == 7 && blocked.stderr.contains("applinks plugins enable fixture"))
        #expect(try cli.run("plugins", "enable", "fixture").status == 0)
        #expect(try cli.run("list", "--status", "CONNECTED", "--json").jsonArray?.count == 1)
        let unknown = try cli.run("plugins", "disable", "nope")
        #expect(unknown.status == 4 && unknown.stderr.contains("Known: fixture"))
    }

    @Test("the audit log records who did what and when, and --since filters it")
    func audit() throws {
        let cli = try CLI.initialized()
        try cli.createLink("Jira")
        try cli.run("edit", "Jira", "--set", "name=Jira 2")
        try cli.run("status", "--all")
        try cli.run("plugins", "disable", "fixture")
        try cli.run("plugins", "enable", "fixture")
        try cli.run("delete", "Jira 2", "--yes")
        let events = try #require(try cli.run("audit", "--json", env: ["USER": "alice"]).jsonArray)
        let actions = events.map { $0["action"] as? String ?? "" }
        for a in ["init", "create", "edit", "status-change", "link-type-disable", "link-type-enable", "delete"] {
            #expect(actions.contains(a), "missing \(a) in \(actions)")
        }
        #expect(events.allSatisfy { ($0["actor"] as? String)?.hasPrefix("cli:") == true && $0["at"] is String })
        #expect(try cli.run("audit", "--since", "1h", "--json").jsonArray?.count == events.count)
        #expect(try cli.run("audit", "--since", "2999-01-01", "--json").jsonArray?.isEmpty == true)
        let bad = try cli.run("audit", "--since", "yesterday")
        #expect(bad.status == 2 && bad.stderr.contains("neither an ISO 8601 date"))
    }

    @Test("a broken plugin file is reported, and the other plugins and commands keep working")
    func brokenPluginFile() throws {
        let cli = try CLI.initialized()
        let bad = cli.dir.path("libbroken.so")
        try Data("not a library".utf8).write(to: bad)
        let env = ["APPLINKS_PLUGINS_PATHS": "\(BuildProducts.fixturePlugin.path),\(bad.path)"]
        try cli.createLink("Jira")
        let list = try cli.run("list", env: env)
        #expect(list.status == 0 && list.stdout.contains("Jira") && list.stderr.contains("1 plugin file(s) were refused"))
        let plugins = try #require(try cli.run("plugins", "list", "--json", env: env).jsonArray)
        let refused = try #require(plugins.first { $0["path"] as? String == bad.path })
        #expect(refused["state"] as? String == "refused" && (refused["reason"] as? String)?.contains("no ELF header") == true)
    }
}
