import Foundation

/// ISO 8601 timestamps with milliseconds, in UTC: `2026-11-29T10:00:00.000Z`.
public enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let plain = Date.ISO8601FormatStyle()

    /// Formats with the C library's calendar arithmetic; `ISO8601FormatStyle` costs a few microseconds a date,
    /// which adds up over the three dates of each of ten thousand links.
    public static func format(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let millis = Int(ms - Int64(seconds) * 1000)
        var t = tm()
        guard gmtime_r(&seconds, &t) != nil else { return style.format(date) }
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):"
            + "\(pad(t.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    public static func parse(_ s: String) -> Date? {
        (try? style.parse(s)) ?? (try? plain.parse(s))
    }
}
