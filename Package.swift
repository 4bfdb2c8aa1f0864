// swift-tools-version: 6.2
import Foundation
import PackageDescription

let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "AppLinks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "applinks", targets: ["applinks"]),
        .executable(name: "applinks-plugin-runner", targets: ["applinks-plugin-runner"]),
        .library(name: "AppLinksPluginKit", targets: ["AppLinksPluginKit"]),
        .library(name: "AppLinksCrypto", targets: ["AppLinksCrypto"]),
        .library(name: "AppLinksOAuth1", targets: ["AppLinksOAuth1"]),
        // For tests, ours and vendors': the in-memory reference store and the store conformance suite.
        .library(name: "AppLinksTesting", targets: ["AppLinksTesting"]),
        // Link-type plugins are dynamic libraries named `libAppLinksLinkType*.so`; the host finds them next to
        // its own executable. The test fixture deliberately uses another prefix so that it is never picked up
        // by a real deployment.
        .library(name: "AppLinksLinkTypeAtlassianOAuth1", type: .dynamic, targets: ["AtlassianOAuth1LinkTypeEntry"]),
        .library(name: "AppLinksLinkTypeOAuth2Incoming", type: .dynamic, targets: ["OAuth2IncomingLinkTypeEntry"]),
        .library(name: "AppLinksLinkTypeOAuth2Outgoing", type: .dynamic, targets: ["OAuth2OutgoingLinkTypeEntry"]),
        .library(name: "AppLinksLinkTypeJenkins", type: .dynamic, targets: ["JenkinsLinkTypeEntry"]),
        .library(name: "AppLinksTestFixture", type: .dynamic, targets: ["FixtureLinkType"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        // MARK: C boundary
        .target(
            name: "AppLinksPluginABI",
            path: "Sources/AppLinksPluginABI",
            cSettings: [.headerSearchPath("../../sdk/include")]
        ),
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // libxml2 straight, not FoundationXML's XMLParser: its Swift layer traps or dereferences NULL on a few bytes
        // of hostile XML (see LeafXML), and these documents come from remote servers.
        .systemLibrary(
            name: "CLibXML2", path: "Sources/CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CFFI", path: "Sources/CFFI", pkgConfig: "libffi", providers: [.apt(["libffi-dev"])]),

        // MARK: Libraries
        // The one lock type, visible to ThreadSanitizer (see Locked).
        .target(name: "AppLinksLocking", swiftSettings: swift6),
        // JSON values, the shared coders and timestamps: what every layer reads and writes, plugins included.
        .target(name: "AppLinksJSON", swiftSettings: swift6),
        // The data model and the ABI's messages.
        .target(name: "AppLinksCore", dependencies: ["AppLinksJSON"], swiftSettings: swift6),
        // Log handlers (text, JSON, per-module levels) and the buffered writer they share.
        .target(
            name: "AppLinksLogging", dependencies: ["AppLinksJSON", "AppLinksLocking", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swift6),
        .target(name: "AppLinksCrypto", dependencies: ["AppLinksLocking", "COpenSSL"], swiftSettings: swift6),
        .target(
            name: "AppLinksOAuth1", dependencies: ["AppLinksCore", "AppLinksCrypto", "AppLinksHTTPInput", "AppLinksLocking"],
            swiftSettings: swift6),
        .target(name: "AppLinksOAuth2", dependencies: ["AppLinksCrypto", "AppLinksHTTPInput"], swiftSettings: swift6),
        // What a browser or HTTP client sends that needs no server to read: the login's `next=`, Basic credentials.
        .target(name: "AppLinksHTTPInput", swiftSettings: swift6),
        .target(
            name: "AppLinksStore",
            dependencies: [
                "AppLinksCore", "AppLinksJSON", "AppLinksCrypto", "AppLinksLocking",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swift6
        ),
        .target(
            name: "AppLinksTesting",
            dependencies: [
                "AppLinksCore", "AppLinksJSON", "AppLinksLocking", "AppLinksStore", "AppLinksCrypto", "AppLinksPluginABI",
                "AppLinksPluginIPC",
                "AppLinksPluginKit",
            ],
            swiftSettings: swift6),
        // What the host and a plugin runner process share: the pipe's frames, and typed C actions.
        .target(
            name: "AppLinksPluginIPC", dependencies: ["AppLinksCore", "AppLinksJSON", "AppLinksLocking", "AppLinksPluginABI", "CFFI"],
            swiftSettings: swift6
        ),
        .executableTarget(
            name: "applinks-plugin-runner", dependencies: ["AppLinksJSON", "AppLinksLocking", "AppLinksPluginIPC"], swiftSettings: swift6),
        .target(
            name: "AppLinksStorePostgres",
            dependencies: [
                "AppLinksCore", "AppLinksJSON", "AppLinksLocking", "AppLinksStore", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swift6
        ),
        // The spans the host adds for plugin calls, status checks and outbound requests.
        .target(
            name: "AppLinksTracing",
            dependencies: [
                .product(name: "Tracing", package: "swift-distributed-tracing"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swift6
        ),
        // Loading, verifying, isolating and calling link-type plugins; the deployment attaches their host API.
        .target(
            name: "AppLinksPluginRuntime",
            dependencies: [
                "AppLinksCore", "AppLinksJSON", "AppLinksCrypto", "AppLinksLocking", "AppLinksPluginABI", "AppLinksPluginIPC",
                "AppLinksTracing", .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swift6
        ),
        .target(
            name: "AppLinksHost",
            dependencies: [
                "AppLinksCore", "AppLinksJSON", "AppLinksCrypto", "AppLinksLocking", "AppLinksStore", "AppLinksPluginABI",
                "AppLinksPluginIPC", "AppLinksPluginRuntime", "AppLinksTracing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swift6
        ),
        .target(
            name: "AppLinksPluginKit",
            dependencies: ["AppLinksCore", "AppLinksJSON", "AppLinksLocking", "AppLinksPluginABI"],
            swiftSettings: swift6
        ),
        // What the OAuth 1.0 link types share: their provider state in the host's store, consumer info, remote manifests.
        .target(
            name: "AppLinksPluginOAuth1",
            dependencies: ["AppLinksCore", "AppLinksJSON", "AppLinksPluginKit", "AppLinksOAuth1", "CLibXML2"],
            swiftSettings: swift6
        ),
        .target(
            name: "AppLinksServer",
            dependencies: [
                "AppLinksHost", "AppLinksPluginRuntime", "AppLinksTracing", "AppLinksJSON", "AppLinksStore", "AppLinksHTTPInput",
                "AppLinksLocking", "AppLinksLogging",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            // The admin pages' templates, stylesheet and script ship as files beside the executable.
            resources: [.copy("Web")],
            swiftSettings: swift6
        ),
        .target(
            name: "AppLinksCLI",
            dependencies: [
                "AppLinksHost", "AppLinksPluginRuntime", "AppLinksJSON", "AppLinksStore", "AppLinksStorePostgres", "AppLinksCrypto",
                "AppLinksServer", "AppLinksLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swift6
        ),
        .executableTarget(
            name: "applinks",
            dependencies: ["AppLinksCLI", "AppLinksServer"], swiftSettings: swift6),

        // MARK: Link types
        .target(
            name: "AtlassianOAuth1LinkType",
            dependencies: ["AppLinksPluginKit", "AppLinksJSON", "AppLinksOAuth1", "AppLinksPluginOAuth1", "AppLinksCrypto"],
            path: "Plugins/AtlassianOAuth1", exclude: ["Entry"],
            swiftSettings: swift6
        ),
        .target(
            name: "AtlassianOAuth1LinkTypeEntry", dependencies: ["AtlassianOAuth1LinkType"], path: "Plugins/AtlassianOAuth1/Entry",
            swiftSettings: swift6),
        .target(
            name: "OAuth2IncomingLinkType",
            dependencies: [
                "AppLinksPluginKit", "AppLinksJSON", "AppLinksOAuth2", "AppLinksHTTPInput", "AppLinksCrypto", "AppLinksLocking",
            ],
            path: "Plugins/OAuth2Incoming", exclude: ["Entry"],
            swiftSettings: swift6
        ),
        .target(
            name: "OAuth2IncomingLinkTypeEntry", dependencies: ["OAuth2IncomingLinkType"], path: "Plugins/OAuth2Incoming/Entry",
            swiftSettings: swift6),
        .target(
            name: "OAuth2OutgoingLinkType",
            dependencies: ["AppLinksPluginKit", "AppLinksJSON", "AppLinksOAuth2", "AppLinksHTTPInput", "AppLinksCrypto"],
            path: "Plugins/OAuth2Outgoing", exclude: ["Entry"],
            swiftSettings: swift6
        ),
        .target(
            name: "OAuth2OutgoingLinkTypeEntry", dependencies: ["OAuth2OutgoingLinkType"], path: "Plugins/OAuth2Outgoing/Entry",
            swiftSettings: swift6),
        .target(
            name: "JenkinsLinkType",
            dependencies: ["AppLinksPluginKit", "AppLinksJSON", "AppLinksOAuth1", "AppLinksPluginOAuth1"],
            path: "Plugins/Jenkins", exclude: ["Entry"],
            swiftSettings: swift6
        ),
        .target(name: "JenkinsLinkTypeEntry", dependencies: ["JenkinsLinkType"], path: "Plugins/Jenkins/Entry", swiftSettings: swift6),

        // MARK: Test fixtures
        .target(
            name: "FixtureLinkType",
            dependencies: ["AppLinksPluginKit", "AppLinksJSON", "AppLinksOAuth1", "AppLinksPluginOAuth1"],
            path: "Tests/Fixtures/FixtureLinkType",
            swiftSettings: swift6
        ),

        // MARK: Tests
        .testTarget(
            name: "AppLinksCoreTests",
            dependencies: ["AppLinksCore", "AppLinksJSON", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swift6),
        .testTarget(name: "AppLinksCryptoTests", dependencies: ["AppLinksCrypto"], swiftSettings: swift6),
        .testTarget(name: "AppLinksLoggingTests", dependencies: ["AppLinksLogging", "AppLinksJSON"], swiftSettings: swift6),
        .testTarget(name: "AppLinksOAuth2Tests", dependencies: ["AppLinksOAuth2", "AppLinksHTTPInput"], swiftSettings: swift6),
        .testTarget(
            name: "AppLinksOAuth1Tests",
            dependencies: [
                "AppLinksOAuth1", "AppLinksPluginOAuth1", "AppLinksLocking", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            exclude: ["oauthlib_sign.py", "oauthlib_provider.py"],
            swiftSettings: swift6),
        .testTarget(
            name: "AppLinksStoreTests",
            dependencies: [
                "AppLinksStore", "AppLinksStorePostgres", "AppLinksTesting", "AppLinksLocking", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swift6
        ),
        .testTarget(
            name: "AppLinksHostTests",
            dependencies: [
                "AppLinksHost", "AppLinksPluginRuntime", "AppLinksJSON", "AppLinksLocking", "AppLinksPluginIPC", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            exclude: ["echo_server.py"],
            swiftSettings: swift6
        ),
        .testTarget(
            name: "AppLinksServerTests",
            dependencies: [
                "AppLinksServer", "AppLinksHost", "AppLinksLocking", "AppLinksPluginOAuth1", "AppLinksOAuth2", "AppLinksStore",
                "AppLinksHTTPInput", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: [
                "oauth1_consumer.py", "applinks_browser.py", "atlassian_3lo_browser.py", "fake_atlassian_product.py",
                "authlib_provider.py", "oauth2_outgoing_browser.py", "jenkins_standin.py", "web_admin_browser.py",
                "oauth2_client_flow.py", "oauth1_replay.py", "oauth1_levels.py", "slow_senders.py", "login_flood.py", "tcp_proxy.py",
                "account_authorizations.py", "otlp_receiver.py",
            ],
            swiftSettings: swift6
        ),
        // Each bundled link type in process, through AppLinksTesting's FakeHost: no process, socket or database.
        .testTarget(
            name: "LinkTypeTests",
            dependencies: [
                "AppLinksTesting", "AppLinksCore", "AppLinksJSON", "AppLinksPluginKit", "JenkinsLinkType", "OAuth2OutgoingLinkType",
                "OAuth2IncomingLinkType",
                "AtlassianOAuth1LinkType",
            ],
            swiftSettings: swift6
        ),
        .testTarget(
            name: "AppLinksCLITests",
            dependencies: [
                "AppLinksHost", "AppLinksCrypto", "AppLinksStore", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swift6
        ),
        .target(name: "CTestSupport", path: "Tests/CTestSupport"),
        .target(
            name: "TestSupport",
            dependencies: [
                "AppLinksCore", "AppLinksLocking", "AppLinksStore", "CTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swift6
        ),
    ]
)

// The package-benchmark suites in Benchmarks/ join the package only when APPLINKS_BENCHMARKS is set (the
// Benchmarks/*.sh scripts set it), so that normal builds and tests never compile them or their dependencies.
if ProcessInfo.processInfo.environment["APPLINKS_BENCHMARKS"] != nil {
    package.dependencies.append(.package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "OAuth1Benchmarks",
            dependencies: ["AppLinksOAuth1", "AppLinksCrypto", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/OAuth1",
            swiftSettings: swift6,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
    package.products.append(.executable(name: "hello-world-baseline", targets: ["HelloWorldBaseline"]))
    package.targets.append(
        .executableTarget(
            name: "HelloWorldBaseline", dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "Benchmarks/HelloWorld", swiftSettings: swift6))
    package.targets.append(
        .executableTarget(
            name: "PluginCallBenchmarks",
            dependencies: [
                "AppLinksHost", "AppLinksPluginRuntime", "AppLinksCore", "AppLinksLocking", .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/PluginCalls",
            swiftSettings: swift6,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
}

// The OTLP trace exporter. Traces leave over OTLP/HTTP only: the gRPC exporter would add grpc-swift to every build
// for no gain. Tests/sanitizers.sh sets APPLINKS_WITHOUT_OTEL because swift-otel 1.6.0 does not compile under
// -sanitize=thread (a region-isolation error in its batch log processor); `serve` then refuses tracing.otlp_endpoint.
if ProcessInfo.processInfo.environment["APPLINKS_WITHOUT_OTEL"] == nil {
    package.dependencies.append(.package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]))
    let server = package.targets.first { $0.name == "AppLinksServer" }!
    server.dependencies.append(.product(name: "OTel", package: "swift-otel"))
    server.swiftSettings = (server.swiftSettings ?? []) + [.define("APPLINKS_OTEL")]
}

// libFuzzer targets, one per parser of outside bytes (Fuzz/Targets/NAME). They join the package only when
// APPLINKS_FUZZ is set: Fuzz/run.sh sets it and builds them in release with -sanitize=fuzzer,address in a
// scratch folder of their own. Each target's main calls libFuzzer's LLVMFuzzerRunDriver; lld links them, since
// gold cannot place the fuzzer runtime beside a Swift entry point.
if ProcessInfo.processInfo.environment["APPLINKS_FUZZ"] != nil {
    package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/Driver", swiftSettings: swift6))
    let parsers: [String: [Target.Dependency]] = [
        "oauth1-header": ["AppLinksOAuth1"], "oauth1-parameters": ["AppLinksOAuth1"], "form": ["AppLinksHTTPInput"],
        "json": ["AppLinksJSON"], "descriptor": ["AppLinksCore", "AppLinksJSON"],
        "manifest": ["AppLinksCore", "AppLinksJSON", "AppLinksPluginOAuth1"],
        "consumer-info": ["AppLinksPluginOAuth1"], "frame": ["AppLinksPluginIPC"], "redirect-uri": ["AppLinksOAuth2"],
        "next-path": ["AppLinksHTTPInput"], "basic": ["AppLinksHTTPInput"],
    ]
    for (name, dependencies) in parsers.sorted(by: { $0.key < $1.key }) {
        package.targets.append(
            .executableTarget(
                name: "fuzz-\(name)", dependencies: ["FuzzDriver"] + dependencies, path: "Fuzz/Targets/\(name)", swiftSettings: swift6,
                linkerSettings: [.unsafeFlags(["-use-ld=lld"])]))
    }
}
