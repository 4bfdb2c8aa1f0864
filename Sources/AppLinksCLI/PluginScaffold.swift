import AppLinksCore
import ArgumentParser
import Foundation

/// A new plugin project outside the repository, from the SDK's own example and templates, which builds
/// against the SDK as it is: C with a Makefile and a copy of the header, or Swift with a package that depends
/// on `AppLinksPluginKit`.
struct PluginScaffold {
    enum Language: String, ExpressibleByArgument, CaseIterable, Sendable {
        case swift, c
    }

    let id: String
    let language: Language
    /// The folder that holds `sdk/` (and, for Swift, the package that offers AppLinksPluginKit).
    let sdkRoot: URL

    /// `acme-widget` → `AcmeWidget`.
    var typeName: String { id.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() }
    var displayName: String { id.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ") }

    /// The SDK next to this executable: the first folder upwards that holds `sdk/include/applinks/plugin.h`.
    static func findSDK(from start: URL?) -> URL? {
        var dir = start
        while let d = dir, d.path != "/" {
            if FileManager.default.fileExists(atPath: d.appendingPathComponent("sdk/include/applinks/plugin.h").path) { return d }
            dir = d.deletingLastPathComponent()
        }
        return nil
    }

    /// Writes the project into `directory` (which must not exist yet, or be empty); returns the files written.
    func write(into directory: URL) throws -> [String] {
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: directory.path), !existing.isEmpty {
            throw AppLinksError(.invalidInput, "\(directory.path) already exists and is not empty; choose another --dir or name.")
        }
        let sdk = sdkRoot.appendingPathComponent("sdk")
        func read(_ path: String) throws -> String {
            do {
                return try String(contentsOf: sdk.appendingPathComponent(path), encoding: .utf8)
            } catch {
                throw AppLinksError(
                    .notFound, "The SDK at \(sdk.path) has no \(path); pass --sdk with a complete AppLinks SDK.", cause: error)
            }
        }
        var files: [(String, String)] = []
        switch language {
        case .c:
            let source = try read("examples/c-hello/hello.c")
                .replacingOccurrences(of: "c-hello", with: id)
                .replacingOccurrences(of: "Hello (C example)", with: displayName)
                .replacingOccurrences(of: "hello_", with: id.replacingOccurrences(of: "-", with: "_") + "_")
                // The comment's build line names this project's Makefile, file and library, not the example's.
                .replacingOccurrences(of: "libapplinks-\(id).so", with: "lib\(id).so")
                .replacingOccurrences(of: "-O2 -I../../include -o", with: "-O2 -Wall -Wextra -Iinclude -o")
                .replacingOccurrences(of: ".so hello.c)", with: ".so \(id).c)")
            files = [
                ("\(id).c", source),
                ("include/applinks/plugin.h", try read("include/applinks/plugin.h")),
                (
                    "Makefile",
                    "lib\(id).so: \(id).c include/applinks/plugin.h\n\tcc -shared -fPIC -O2 -Wall -Wextra -Iinclude -o $@ \(id).c\n"
                ),
                (
                    "README.md",
                    "# \(displayName)\n\nAn AppLinks link type in C. `make` builds `lib\(id).so`; `applinks plugins install lib\(id).so` "
                        + "installs it. The ABI is specified in include/applinks/plugin.h.\n"
                ),
            ]
        case .swift:
            let fill = { (text: String) in
                text.replacingOccurrences(of: "{{PRODUCT}}", with: "AppLinksPlugin\(typeName)")
                    .replacingOccurrences(of: "{{TARGET}}", with: "\(typeName)LinkType")
                    .replacingOccurrences(of: "{{SDK_PACKAGE}}", with: sdkRoot.path)
                    .replacingOccurrences(of: "{{SDK_PACKAGE_ID}}", with: sdkRoot.lastPathComponent.lowercased())
                    .replacingOccurrences(of: "{{ID}}", with: id)
                    .replacingOccurrences(of: "{{NAME}}", with: displayName)
                    .replacingOccurrences(of: "{{VENDOR}}", with: "Example vendor")
            }
            files = [
                ("Package.swift", fill(try read("templates/swift/Package.swift.template"))),
                ("Sources/\(typeName)LinkType/\(typeName)LinkType.swift", fill(try read("templates/swift/Plugin.swift.template"))),
                (
                    "Tests/\(typeName)LinkTypeTests/\(typeName)LinkTypeTests.swift",
                    fill(try read("templates/swift/Tests.swift.template"))
                ),
                (
                    "README.md",
                    "# \(displayName)\n\nAn AppLinks link type in Swift. `swift build` builds "
                        + "`.build/debug/libAppLinksPlugin\(typeName).so`; `applinks plugins install` installs it. `swift test` "
                        + "runs its unit tests against the SDK's fake host (AppLinksTesting).\n"
                ),
            ]
        }
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        return files.map(\.0)
    }
}

struct PluginsNew: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "new", abstract: "Start a plugin project, in Swift or C, that builds against the SDK as it is.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link type's id: lower case letters, digits and '-', such as acme-widget.") var name: String
    @Option(help: "swift or c.") var lang: PluginScaffold.Language = .swift
    @Option(help: "Where to create the project folder (default: the current directory).") var dir: String?
    @Option(help: "The folder holding the AppLinks sdk/ (default: found upwards from this executable).") var sdk: String?

    func execute() async throws {
        guard LinkTypeDescriptor.isValidID(name) else {
            throw AppLinksError(
                .invalidInput, "'\(name)' is not a link-type id: use lower case letters, digits and '-', such as acme-widget.")
        }
        guard
            let root = sdk.map({ URL(fileURLWithPath: $0) })
                ?? PluginScaffold.findSDK(from: CommandLine.arguments.first.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath() })
        else {
            throw AppLinksError(
                .notFound, "Cannot find the AppLinks SDK above this executable; pass --sdk DIR (the folder that holds sdk/).")
        }
        let target = URL(fileURLWithPath: dir ?? FileManager.default.currentDirectoryPath).appendingPathComponent(name)
        let files = try PluginScaffold(id: name, language: lang, sdkRoot: root).write(into: target)
        if common.json { return try Output.json(["directory": target.path, "files": files.joined(separator: " ")]) }
        print("Created \(target.path): \(files.joined(separator: ", ")).")
        print(lang == .c ? "Build it with `make -C \(target.path)`." : "Build it with `swift build --package-path \(target.path)`.")
    }
}
