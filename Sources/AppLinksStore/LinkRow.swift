import AppLinksCore
import AppLinksJSON
import Foundation
import GRDB

/// One `links` row as plain values, read straight from the statement, with its JSON columns still text.
public struct LinkRow: Sendable {
    public var id, type, name, appType, appName: String
    public var appVersion, appID: String?
    public var displayURL, rpcURL, incomingAuth, outgoingAuth: String
    public var primary, enabled: Bool
    public var config, category: String
    public var errorType: String?
    public var message: String
    public var checkedAt: Double?
    public var version: Int
    public var createdAt, updatedAt: Double

    /// The columns of ``Link/selectColumns`` in order, as another backend reads them.
    public init(
        id: String, type: String, name: String, appType: String, appName: String, appVersion: String?, appID: String?,
        displayURL: String, rpcURL: String, incomingAuth: String?, outgoingAuth: String?, primary: Bool, enabled: Bool,
        config: String?, category: String, errorType: String?, message: String, checkedAt: Double?, version: Int,
        createdAt: Double, updatedAt: Double
    ) {
        self.id = id; self.type = type; self.name = name; self.appType = appType; self.appName = appName
        self.appVersion = appVersion; self.appID = appID; self.displayURL = displayURL; self.rpcURL = rpcURL
        self.incomingAuth = incomingAuth ?? "[]"; self.outgoingAuth = outgoingAuth ?? "[]"; self.primary = primary
        self.enabled = enabled; self.config = config ?? "{}"; self.category = category; self.errorType = errorType
        self.message = message; self.checkedAt = checkedAt; self.version = version; self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Reads the columns of ``Link/selectColumns`` by position.
    /// The same columns from a statement stepped on a connection of ``SQLiteKV``.
    init(_ row: ResultRow) {
        id = row.text(0); type = row.text(1); name = row.text(2); appType = row.text(3); appName = row.text(4)
        appVersion = row.optionalText(5); appID = row.optionalText(6); displayURL = row.text(7); rpcURL = row.text(8)
        incomingAuth = row.optionalText(9) ?? "[]"; outgoingAuth = row.optionalText(10) ?? "[]"
        primary = row.int(11) != 0; enabled = row.int(12) != 0; config = row.optionalText(13) ?? "{}"; category = row.text(14)
        errorType = row.optionalText(15); message = row.text(16); checkedAt = row.optionalDouble(17); version = row.int(18)
        createdAt = row.double(19); updatedAt = row.double(20)
    }

    init(_ row: Row) {
        id = row[0]; type = row[1]; name = row[2]; appType = row[3]; appName = row[4]; appVersion = row[5]; appID = row[6]
        displayURL = row[7]; rpcURL = row[8]; incomingAuth = row[9] ?? "[]"; outgoingAuth = row[10] ?? "[]"
        primary = row[11]; enabled = row[12]; config = row[13] ?? "{}"; category = row[14]; errorType = row[15]
        message = row[16]; checkedAt = row[17]; version = row[18]; createdAt = row[19]; updatedAt = row[20]
    }

    func link(incomingAuth: [String], outgoingAuth: [String], config: [String: JSONValue]) -> Link {
        Link(
            id: id, type: type, name: name,
            application: ApplicationInfo(type: appType, name: appName, version: appVersion, id: appID),
            displayURL: displayURL, rpcURL: rpcURL, incomingAuth: incomingAuth, outgoingAuth: outgoingAuth,
            primary: primary, enabled: enabled, config: config,
            status: LinkStatus(
                StatusCategory(rawValue: category) ?? .unknown, errorType.flatMap(StatusErrorType.init(rawValue:)),
                message: message, checkedAt: Columns.date(checkedAt)),
            version: version, createdAt: Date(timeIntervalSince1970: createdAt), updatedAt: Date(timeIntervalSince1970: updatedAt))
    }
}

extension Link {
    /// The columns `LinkRow` reads, by position: looking columns up by name costs more than the row itself.
    public static let selectColumns = """
        id, type, name, app_type, app_name, app_version, app_id, display_url, rpc_url, incoming_auth, outgoing_auth,
        is_primary, enabled, config, status_category, status_error_type, status_message, status_checked_at, version,
        created_at, updated_at
        """

    /// Decodes many rows, parsing each JSON column of a chunk of them in one decoder call (JSONDecoder's per-call
    /// cost, not the JSON itself, dominates thousands of small documents), one chunk per core.
    public static func decodeAll(_ rows: [LinkRow]) async -> [Link] {
        let parts = rows.count >= 512 ? ProcessInfo.processInfo.activeProcessorCount : 1
        // A page's worth is decoded where it is: a child task would cost two thread switches for no gain.
        if parts == 1 { return decodeChunk(rows) }
        let size = max(1, (rows.count + parts - 1) / parts)
        let chunks = stride(from: 0, to: rows.count, by: size).map { Array(rows[$0..<min($0 + size, rows.count)]) }
        return await withTaskGroup(of: (Int, [Link]).self) { group in
            for (i, chunk) in chunks.enumerated() { group.addTask { (i, decodeChunk(chunk)) } }
            var out = [[Link]](repeating: [], count: chunks.count)
            for await (i, links) in group { out[i] = links }
            return out.flatMap { $0 }
        }
    }

    public static func decodeChunk(_ rows: [LinkRow]) -> [Link] {
        // One parse per column for the whole chunk, with the byte-wise reader: Foundation's decoder was most of a
        // page of links' time.
        func column<T>(_ text: (LinkRow) -> String, _ element: (JSONValue) -> T?) -> [T]? {
            guard case .array(let values)? = try? JSONValue.parse(Data(("[" + rows.map(text).joined(separator: ",") + "]").utf8)),
                values.count == rows.count
            else { return nil }
            let decoded = values.compactMap(element)
            return decoded.count == rows.count ? decoded : nil
        }
        guard let incoming = column(\.incomingAuth, Columns.strings), let outgoing = column(\.outgoingAuth, Columns.strings),
            let configs = column(\.config, Columns.object)
        else {
            // One malformed column: decode row by row, which tolerates it.
            return rows.map {
                $0.link(
                    incomingAuth: Columns.strings($0.incomingAuth), outgoingAuth: Columns.strings($0.outgoingAuth),
                    config: Columns.object($0.config))
            }
        }
        return rows.indices.map { rows[$0].link(incomingAuth: incoming[$0], outgoingAuth: outgoing[$0], config: configs[$0]) }
    }

    init(row: Row) {
        let r = LinkRow(row)
        self = r.link(
            incomingAuth: Columns.strings(r.incomingAuth), outgoingAuth: Columns.strings(r.outgoingAuth), config: Columns.object(r.config))
    }
    var columnValues: [String: (any DatabaseValueConvertible)?] {
        [
            "id": id, "type": type, "name": name, "app_type": application.type, "app_name": application.name,
            "app_version": application.version, "app_id": application.id, "display_url": displayURL, "rpc_url": rpcURL,
            "incoming_auth": Columns.json(incomingAuth), "outgoing_auth": Columns.json(outgoingAuth),
            "is_primary": primary, "enabled": enabled, "config": Columns.json(config),
            "status_category": status.category.rawValue, "status_error_type": status.errorType?.rawValue,
            "status_message": status.message, "status_checked_at": status.checkedAt.map(Columns.date),
            "version": version, "created_at": Columns.date(createdAt), "updated_at": Columns.date(updatedAt),
        ]
    }
}

extension SQLiteStore: ClosableStore {
    /// Nothing to end early: SQLite's connections close with the store.
    public func close() {}
}
