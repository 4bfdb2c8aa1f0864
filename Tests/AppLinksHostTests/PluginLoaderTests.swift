import AppLinksCore
import AppLinksHost
import AppLinksPluginRuntime
import Foundation
import Logging
import TestSupport
import Testing

@Suite("Plugin loader")
struct PluginLoaderTests {
    static func loader(_ paths: [URL], pins: [String: String] = [:], requirePins: Bool = false) -> PluginLoader {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return PluginLoader(searchPaths: paths, executableDirectory: nil, pins: pins, requirePins: requirePins, logger: logger)
    }

    @Test("the Swift fixture loads: handshake, descriptor, hash and timing are recorded")
    func fixtureLoads() throws {
        let (plugins, records) = Self.loader([BuildProducts.fixturePlugin]).loadAll(enabled: [:])
        #expect(plugins.map(\.id) == ["fixture"])
        let r = try #require(records.first)
        #expect(r.state == .loaded && r.id == "fixture" && r.name == "Test fixture" && r.version == "1.2.3" && r.vendor == "AppLinks tests")
        #expect(r.abiVersion == "1.3" && r.enabled && r.reason == nil && (r.loadMs ?? -1) >= 0)
        #expect(r.sha256?.count == 64)
        #expect(plugins[0].descriptor.actions.map(\.id) == ["echo", "relocate", "selftest", "rename", "register-consumer", "set-token"])
    }

    /// One bad file per case; the expected text is what an admin needs to recognise the problem.
    static let badCases: [(name: String, expect: String)] = [
        ("wrong major version", "built for ABI 2.0 but this host speaks ABI 1.3"),
        ("newer minor version", "needs ABI 1.7, newer than this host's 1.3"),
        ("missing entry symbol", "does not export applinks_plugin_entry"),
        ("entry declines the host", "declined this host's ABI"),
        ("invalid descriptor JSON", "descriptor_json is not strict JSON (RFC 8259): invalid JSON at byte 18"),
        ("descriptor breaking the schema", "must lie under /plugins/cplugin/"),
        ("struct_size too small", "smaller than the v1.0 descriptor"),
        ("not an ELF file", "not a shared library (it has no ELF header)"),
        ("world-writable file", "the file is world-writable. Fix: run `chmod o-w"),
        ("file owned by another user", "owned by uid 65534"),
        ("world-writable directory", "is world-writable, so anyone could replace the file"),
        ("group-writable file", "writable by group 1000, not root's. Fix: run `chmod g-w"),
        ("group-writable directory", "is writable by group 1000, whose members could replace the file"),
        ("a parent directory owned by another user", "is owned by uid 65534, who could replace the file"),
    ]

    @Test(
        "each kind of bad plugin file is refused with its own message, and the good one still loads",
        arguments: badCases.map(\.name))
    func refusals(name: String) throws {
        let expected = try #require(Self.badCases.first { $0.name == name }?.expect)
        let dir = TemporaryDirectory("bad-plugin")
        var file = dir.path("libbad.so")
        var o = CPluginSources.Options()
        switch name {
        case "wrong major version": o.abi = "(2u << 16)"
        case "newer minor version": o.abi = "((1u << 16) | 7u)"
        case "missing entry symbol": o.exportEntry = false
        case "entry declines the host": o.entryReturnsNull = true
        case "invalid descriptor JSON": o.json = #"{"id": "cplugin", not json"#
        case "descriptor breaking the schema":
            o.json =
                #"{"id":"cplugin","name":"C","version":"1","vendor":"v","directions":["outgoing"],"wizard":{"steps":[{"id":"a","title":"A"}]},"routes":[{"method":"GET","path":"/admin","auth":"none"}]}"#
        case "struct_size too small": o.structSize = "16"
        default: break
        }
        if name == "not an ELF file" {
            try Data("#!/bin/sh\necho I am not a library\n".utf8).write(to: file)
        } else if ["world-writable directory", "group-writable directory", "a parent directory owned by another user"].contains(name) {
            // The weak directory sits two levels above the file: every directory up to / counts.
            let weak = dir.path("weak")
            let sub = weak.appendingPathComponent("plugins")
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            file = sub.appendingPathComponent("libbad.so")
            try compileCPlugin(CPluginSources.plugin(o), to: file)
            switch name {
            case "world-writable directory": chmod(weak.path, 0o777)
            case "group-writable directory":
                chown(weak.path, 0, 1000)
                chmod(weak.path, 0o775)
            default: chown(weak.path, 65534, 65534)
            }
        } else {
            try compileCPlugin(CPluginSources.plugin(o), to: file)
        }
        if name == "world-writable file" { chmod(file.path, 0o666) }
        if name == "file owned by another user" { chown(file.path, 65534, 65534) }
        if name == "group-writable file" {
            chown(file.path, getuid(), 1000)
            chmod(file.path, 0o664)
        }
        let (plugins, records) = Self.loader([file, BuildProducts.fixturePlugin]).loadAll(enabled: [:])
        #expect(plugins.map(\.id) == ["fixture"], "the good plugin must still load")
        let bad = try #require(records.first { $0.path.hasSuffix("libbad.so") })
        #expect(bad.state == .refused)
        #expect(bad.reason?.contains(expected) == true, "reason was: \(bad.reason ?? "nil")")
        #expect(bad.reason?.contains("Fix:") == true)
    }

    @Test("a file swapped between its check and its load is refused, in process and under isolation; the host never runs the swap")
    func swapAfterCheck() throws {
        for isolated in [false, true] {
            let dir = TemporaryDirectory("swap")
            let file = dir.path("libswap.so")
            let other = dir.path("other.so")
            try compileCPlugin(CPluginSources.plugin(.init(id: "checked")), to: file)
            try compileCPlugin(CPluginSources.plugin(.init(id: "swapped")), to: other)
            var loader = Self.loader([file])
            if isolated { loader.isolated = ["*"] }
            loader.afterVerifyForTesting = { path in _ = rename(other.path, path) }
            let (plugins, records) = loader.loadAll(enabled: [:])
            #expect(plugins.isEmpty, "isolated \(isolated): \(plugins.map(\.id))")
            let reason = records.first?.reason ?? ""
            #expect(reason.contains("was replaced while it was being loaded") && reason.contains("Fix:"), "\(reason)")
        }
    }

    @Test("a plugin built for ABI 1.0 still loads on this 1.1 host: a minor version only appends")
    func olderMinorLoads() throws {
        let dir = TemporaryDirectory("abi-1-0")
        var o = CPluginSources.Options()
        o.abi = "(1u << 16)"
        try compileCPlugin(CPluginSources.plugin(o), to: dir.path("libold.so"))
        let (plugins, records) = Self.loader([dir.url]).loadAll(enabled: [:])
        #expect(plugins.map(\.id) == ["cplugin"] && records.first?.abiVersion == "1.0", "\(records)")
    }

    @Test("a second plugin with an id already loaded is refused; the first stays")
    func duplicateID() throws {
        let dir = TemporaryDirectory("dup")
        try compileCPlugin(CPluginSources.plugin(), to: dir.path("liba.so"))
        try compileCPlugin(CPluginSources.plugin(), to: dir.path("libb.so"))
        let (plugins, records) = Self.loader([dir.url]).loadAll(enabled: [:])
        #expect(plugins.map(\.id) == ["cplugin"])
        #expect(records.map(\.state) == [.loaded, .refused])
        #expect(records[1].reason?.contains("a plugin with id 'cplugin' is already loaded from \(dir.path("liba.so").path)") == true)
    }

    @Test("sha256 pins: a matching pin loads, a different one refuses, require_pins refuses unpinned files before opening them")
    func pins() throws {
        let dir = TemporaryDirectory("pins")
        let file = dir.path("libpinned.so")
        try compileCPlugin(CPluginSources.plugin(), to: file)
        let (_, first) = Self.loader([file]).loadAll(enabled: [:])
        let hash = try #require(first.first?.sha256)
        #expect(Self.loader([file], pins: ["cplugin": hash]).loadAll(enabled: [:]).plugins.count == 1)
        let wrong = String(repeating: "0", count: 64)
        let refused = Self.loader([file], pins: ["cplugin": wrong]).loadAll(enabled: [:]).records[0]
        #expect(refused.state == .refused && refused.reason?.contains("does not match the pin \(wrong) for 'cplugin'") == true)
        let strict = Self.loader([file, BuildProducts.fixturePlugin], pins: ["cplugin": hash], requirePins: true).loadAll(enabled: [:])
        #expect(strict.plugins.map(\.id) == ["cplugin"])
        let unpinned = try #require(strict.records.first { $0.path == BuildProducts.fixturePlugin.path })
        #expect(unpinned.id == nil && unpinned.reason?.contains("plugins.require_pins is on") == true)
    }

    @Test(
        "the sha256 of an unchanged file is remembered in the home; a changed file is hashed again, even with its old mtime, so a pin still refuses it"
    )
    func hashCache() throws {
        let dir = TemporaryDirectory("hash-cache")
        let file = dir.path("libcached.so")
        try compileCPlugin(CPluginSources.plugin(.init(id: "cached-a")), to: file)
        func sha256sum() throws -> String {
            String(try runCommand(URL(fileURLWithPath: "/usr/bin/sha256sum"), [file.path]).stdout.prefix(64))
        }
        let real = try sha256sum()
        let cacheFile = dir.path("plugin-hashes.json")
        // Loaded in runners: the file is rewritten in place below, which must not be under this process's feet.
        func load(pins: [String: String] = [:]) -> PluginRecord? {
            var loader = Self.loader([file], pins: pins)
            loader.isolated = ["*"]
            loader.hashes = PluginHashCache(url: cacheFile)
            let (plugins, records) = loader.loadAll(enabled: [:])
            for plugin in plugins { plugin.shutdown() }
            return records.first
        }
        #expect(load()?.sha256 == real)
        var st = stat()
        #expect(stat(cacheFile.path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(try String(contentsOf: cacheFile, encoding: .utf8).contains(real))

        // A file the loader no longer reaches drops out of the cache when it is next written.
        var entries = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: cacheFile)) as? [String: Any])
        entries["/gone/libgone.so"] = entries[file.path]
        try JSONSerialization.data(withJSONObject: entries).write(to: cacheFile)
        #expect(load()?.sha256 == real)
        let pruned = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: cacheFile)) as? [String: Any])
        #expect(Set(pruned.keys) == [file.path])

        // The remembered hash is what the next process uses: a planted one shows it (and a cache anyone else could
        // write is not read at all).
        let planted = String(repeating: "ab", count: 32)
        try String(contentsOf: cacheFile, encoding: .utf8).replacingOccurrences(of: real, with: planted)
            .write(to: cacheFile, atomically: false, encoding: .utf8)
        #expect(load()?.sha256 == planted)
        chmod(cacheFile.path, 0o620)
        #expect(load()?.sha256 == real)
        try String(contentsOf: cacheFile, encoding: .utf8).replacingOccurrences(of: real, with: planted)
            .write(to: cacheFile, atomically: false, encoding: .utf8)
        chmod(cacheFile.path, 0o600)
        #expect(load()?.sha256 == planted)

        // Other bytes written into the same inode, with the old modification time put back: the change time still
        // differs, so the file is hashed again and the pin of the old file refuses it.
        let other = dir.path("other.so")
        try compileCPlugin(CPluginSources.plugin(.init(id: "cached-b")), to: other)
        #expect(stat(file.path, &st) == 0)
        let times = [st.st_atim, st.st_mtim]
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: try Data(contentsOf: other))
        try handle.close()
        #expect(utimensat(AT_FDCWD, file.path, times, 0) == 0)
        var now = stat()
        #expect(stat(file.path, &now) == 0 && now.st_mtim.tv_sec == st.st_mtim.tv_sec && now.st_ino == st.st_ino)
        let changed = try sha256sum()
        #expect(changed != real)
        let refused = load(pins: ["cached-b": real])
        #expect(refused?.state == .refused && refused?.sha256 == nil)
        #expect(refused?.reason?.contains("its sha256 \(changed) does not match the pin \(real)") == true, "\(refused?.reason ?? "")")
        #expect(load()?.sha256 == changed)
    }

    @Test("a disabled link type is read but never started, and the state survives a restart")
    func disabledTypes() async throws {
        let t = try await TestDeployment.make()
        let link = try await t.createFixtureLink(name: "Jira")
        let record = try await t.deployment.setLinkTypeEnabled("fixture", enabled: false)
        #expect(record.state == .disabled && !record.enabled)
        let again = try await t.reopen()
        #expect(again.plugins["fixture"] == nil)
        #expect(again.pluginRecords.first?.state == .disabled)
        let checked = try await again.checkStatus(of: [link])
        #expect(checked[0].status.category == .disabled && checked[0].status.message.contains("applinks plugins enable fixture"))
        await #expect(throws: AppLinksError.self) { _ = try await again.invokeAction("Jira", action: "echo", rawArgs: [("text", "x")]) }
        _ = try await again.setLinkTypeEnabled("fixture", enabled: true)
        #expect(try await t.reopen().plugins["fixture"] != nil)
        let audit = try await again.store.auditEvents(since: nil, limit: 50).map(\.action)
        #expect(audit.contains("link-type-disable") && audit.contains("link-type-enable"))
    }

    @Test("the executable directory is searched only for libAppLinksLinkType*.so")
    func executableDirectoryPrefix() throws {
        let dir = TemporaryDirectory("exe-dir")
        try compileCPlugin(CPluginSources.plugin(o: "linktype"), to: dir.path("libAppLinksLinkTypeC.so"))
        try compileCPlugin(CPluginSources.plugin(o: "other"), to: dir.path("libSomethingElse.so"))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let loader = PluginLoader(searchPaths: [], executableDirectory: dir.url, logger: logger)
        #expect(loader.candidates().map(\.lastPathComponent) == ["libAppLinksLinkTypeC.so"])
        #expect(loader.loadAll(enabled: [:]).plugins.map(\.id) == ["linktype"])
    }
}

extension CPluginSources {
    static func plugin(o id: String) -> String {
        var o = Options()
        o.id = id
        return plugin(o)
    }
}
