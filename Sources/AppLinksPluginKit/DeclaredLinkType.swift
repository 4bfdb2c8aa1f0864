import AppLinksCore
import Foundation

/// An action a link type declares once: its entry in the descriptor beside the code that runs it.
///
/// ```swift
/// DeclaredAction(.init(id: "open", title: "The job's URL")) { plugin, request in
///     ActionResponse(message: try await plugin.url(of: request))
/// }
/// ```
public struct DeclaredAction<Plugin: Sendable>: Sendable {
    public let spec: LinkTypeDescriptor.Action
    let run: @Sendable (Plugin, ActionRequest) async throws -> ActionResponse

    public init(_ spec: LinkTypeDescriptor.Action, _ run: @escaping @Sendable (Plugin, ActionRequest) async throws -> ActionResponse) {
        self.spec = spec
        self.run = run
    }
}

/// An HTTP route a link type declares once: its entry in the descriptor beside the code that answers it.
public struct DeclaredRoute<Plugin: Sendable>: Sendable {
    public let spec: LinkTypeDescriptor.Route
    /// The route's id, made once: requests are matched against it.
    public let id: String
    /// Whether the descriptor lists it: false for a route of the host's own that it hands to the link type.
    let declared: Bool
    /// For a request from a host that names no route: whether the request's path is this route's.
    let matches: @Sendable (String, String) -> Bool
    let answer: @Sendable (Plugin, PluginHTTPRequest) async throws -> PluginHTTPResponse

    public init(
        _ spec: LinkTypeDescriptor.Route, _ answer: @escaping @Sendable (Plugin, PluginHTTPRequest) async throws -> PluginHTTPResponse
    ) {
        self.spec = spec
        self.id = spec.id
        self.declared = true
        self.matches = { method, path in method == spec.method && path == spec.path }
        self.answer = answer
    }

    /// The answer to the host's status API (`GET /rest/applinks/3.0/status/{id}`), by which a remote checks its
    /// link: the host finds the link and hands the request to its type, which authenticates the caller.
    public static func statusAPI(
        _ answer: @escaping @Sendable (Plugin, PluginHTTPRequest) async throws -> PluginHTTPResponse
    ) -> DeclaredRoute {
        DeclaredRoute(
            id: PluginHTTPRequest.statusAPIRoute, spec: .init(method: "GET", path: PluginHTTPRequest.statusAPIPrefix + "{id}"),
            matches: { method, path in method == "GET" && path.hasPrefix(PluginHTTPRequest.statusAPIPrefix) }, answer: answer)
    }

    private init(
        id: String, spec: LinkTypeDescriptor.Route, matches: @escaping @Sendable (String, String) -> Bool,
        answer: @escaping @Sendable (Plugin, PluginHTTPRequest) async throws -> PluginHTTPResponse
    ) {
        self.spec = spec
        self.id = id
        self.declared = false
        self.matches = matches
        self.answer = answer
    }
}

/// A link type whose actions and routes are typed values: the kit builds the descriptor's `actions` and `routes`
/// from them and dispatches each call to the one that matches, so that no id is written twice.
///
/// - An action that throws a ``StatusFailure`` fails with its ``StatusFailure/pluginError``: unreachable, refused
///   by the remote, or invalid input.
/// - A request reaches the route whose ``LinkTypeDescriptor/Route/id`` the host names in
///   ``PluginHTTPRequest/route``; from an older host that names none, the route with the request's method and path.
public protocol DeclaredLinkType: LinkTypePlugin {
    /// The descriptor without its actions and routes.
    static var declaration: LinkTypeDescriptor { get }
    static var actions: [DeclaredAction<Self>] { get }
    static var routes: [DeclaredRoute<Self>] { get }
}

extension DeclaredLinkType {
    public static var routes: [DeclaredRoute<Self>] { [] }

    public static var descriptor: LinkTypeDescriptor { declarationWithActionsAndRoutes }

    /// The declaration with the declared actions and routes.
    static var declarationWithActionsAndRoutes: LinkTypeDescriptor {
        var d = declaration
        d.actions = actions.map(\.spec)
        d.routes = routes.filter(\.declared).map(\.spec)
        return d
    }

    public func invokeAction(_ request: ActionRequest) async throws -> ActionResponse {
        guard let action = Self.actions.first(where: { $0.spec.id == request.action }) else {
            throw PluginError(code: "unknown_action", message: "The action '\(request.action)' is not one of \(Self.declaration.name)'s.")
        }
        do {
            return try await action.run(self, request)
        } catch let failure as StatusFailure {
            throw failure.pluginError
        }
    }

    public func handleHTTP(_ request: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        let route =
            request.route.flatMap { id in Self.routes.first { $0.id == id } }
            ?? Self.routes.first { $0.matches(request.method, request.path) }
        guard let route else {
            return PluginHTTPResponse(
                status: 404, headers: [["Content-Type", "text/plain; charset=utf-8"]], body: Data("Not found\n".utf8))
        }
        return try await route.answer(self, request)
    }
}
