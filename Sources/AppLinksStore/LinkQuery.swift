import AppLinksCore
import Foundation

/// One page of links, filtered and ordered: what the links table shows, without reading every link.
public struct LinkQuery: Sendable, Hashable {
    public enum Order: String, Sendable, CaseIterable {
        /// By name, case-insensitive.
        case name
        /// By link type id.
        case type
        /// By direction's display name: Incoming, Outgoing, Two-way.
        case direction
        /// By status category.
        case status
    }

    public var type: String?
    public var category: StatusCategory?
    /// A case-insensitive part of the name or the display URL (ASCII letters fold; others match exactly).
    public var search: String?
    public var order: Order
    public var descending: Bool
    public var offset: Int
    public var limit: Int

    public init(
        type: String? = nil, category: StatusCategory? = nil, search: String? = nil, order: Order = .name, descending: Bool = false,
        offset: Int = 0, limit: Int = .max
    ) {
        self.type = type
        self.category = category
        self.search = search
        self.order = order
        self.descending = descending
        self.offset = max(0, offset)
        self.limit = max(0, limit)
    }

    func matches(_ link: Link) -> Bool {
        if let type, link.type != type { return false }
        if let category, link.status.category != category { return false }
        if let search, !search.isEmpty {
            return Self.asciiFoldedContains(link.name, search) || Self.asciiFoldedContains(link.displayURL, search)
        }
        return true
    }

    /// SQL's LIKE as SQLite and this query's PostgreSQL form use it: ASCII letters fold, nothing else does.
    static func asciiFoldedContains(_ text: String, _ part: String) -> Bool {
        func fold(_ s: String) -> [UInt8] { s.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 } }
        let (t, p) = (fold(text), fold(part))
        guard p.count <= t.count else { return false }
        if p.isEmpty { return true }
        for start in 0...(t.count - p.count) where t[start..<start + p.count].elementsEqual(p) { return true }
        return false
    }

    func key(_ link: Link) -> String {
        switch order {
        case .name: ""
        case .type: link.type
        case .direction: link.direction.displayName
        case .status: link.status.category.rawValue
        }
    }

    /// The query on links already in memory: the reference every store's own form must agree with.
    public func apply(_ links: [Link]) -> LinkPage {
        let chosen = links.filter(matches).map { (key: key($0), name: Self.fold($0.name), link: $0) }
        let sorted = chosen.sorted { a, b in
            if a.key != b.key { return a.key < b.key }
            if a.name != b.name { return a.name < b.name }
            return a.link.id < b.link.id
        }
        let ordered = descending ? Array(sorted.reversed()) : sorted
        return LinkPage(links: ordered.dropFirst(offset).prefix(limit).map(\.link), total: ordered.count)
    }

    static func fold(_ s: String) -> String { String(decoding: s.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self) }
}

/// A page of links and how many match in all.
public struct LinkPage: Sendable, Hashable {
    public var links: [Link]
    public var total: Int

    public init(links: [Link], total: Int) {
        self.links = links
        self.total = total
    }
}

extension LinkStore {
    /// Reads every link and filters in memory; stores that can do better answer it themselves.
    public func links(matching query: LinkQuery) async throws -> LinkPage { query.apply(try await links()) }
}
