import AppLinksCore
import AppLinksHost
import Foundation

/// The unified table: Application, Type, Direction, Status, Actions, one row per link.
struct LinkTable {
    var links: [Link]
    var host: Deployment
    var color: Bool

    private func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }

    static func statusText(_ s: LinkStatus) -> String {
        s.category.rawValue + (s.errorType.map { $0.rawValue == s.category.rawValue ? "" : "/\($0.rawValue)" } ?? "")
    }

    private func statusColor(_ c: StatusCategory) -> String {
        switch c {
        case .connected: return "32"
        case .networkError, .accessError, .configError, .incompatible: return "31"
        case .nonAtlassian, .unknown: return "33"
        case .disabled: return "2"
        }
    }

    func render() -> String {
        let header = ["ID", "Application", "Type", "Direction", "Status", "Actions"]
        var rows: [[String]] = []
        var colors: [String] = []
        for l in links {
            let app = "\(l.name) (\(l.application.productAndVersion))" + (l.primary ? " *" : "")
            let type = host.enabledPlugin(l.type)?.descriptor.name ?? host.pluginRecords.first { $0.id == l.type }?.name ?? l.type
            let actions = host.enabledPlugin(l.type)?.descriptor.adminActions.map(\.id).joined(separator: ", ") ?? "-"
            rows.append([
                String(l.id.prefix(8)), app, type, l.direction.displayName, Self.statusText(l.status), actions.isEmpty ? "-" : actions,
            ])
            colors.append(statusColor(l.status.category))
        }
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String], statusColor: String?) -> String {
            cells.enumerated().map { i, c in
                let padded = i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                return i == 4 && statusColor != nil ? paint(padded, statusColor!) : padded
            }.joined(separator: "  ")
        }
        var out = [paint(line(header, statusColor: nil), "1")]
        for (r, c) in zip(rows, colors) { out.append(line(r, statusColor: c)) }
        return out.joined(separator: "\n")
    }
}
