import AppLinksCore
import AppLinksJSON
import AppLinksLocking
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The sha256 of each plugin file, remembered in the deployment's home so that a command does not read and hash
/// every library (several megabytes each) on every start.
///
/// An entry holds only while the file is the same: the same device, inode, size, modification time and change
/// time. Any write to the file, a rename over it or a `touch` changes at least the change time, which only the
/// kernel sets, so a changed file is always hashed again and a pin is always checked against what is on disk. The
/// cache is used only if this user owns it and no one else can write it, the rule plugin files themselves follow.
public final class PluginHashCache: Sendable {
    /// A file as `fstat` sees it.
    struct FileKey: Codable, Hashable, Sendable {
        var dev: UInt64
        var ino: UInt64
        var size: Int64
        var mtime: Int64
        var mtimeNsec: Int64
        var ctime: Int64
        var ctimeNsec: Int64

        init(_ st: stat) {
            dev = UInt64(st.st_dev)
            ino = UInt64(st.st_ino)
            size = Int64(st.st_size)
            mtime = Int64(st.st_mtim.tv_sec)
            mtimeNsec = Int64(st.st_mtim.tv_nsec)
            ctime = Int64(st.st_ctim.tv_sec)
            ctimeNsec = Int64(st.st_ctim.tv_nsec)
        }
    }

    struct Entry: Codable, Sendable {
        var file: FileKey
        var sha256: String
    }

    let url: URL
    /// The entries, whether one was added or replaced, and the paths asked about since the cache was read.
    private let state: Locked<(entries: [String: Entry], changed: Bool, seen: Set<String>)>

    /// Reads the cache at `url`; a missing, unreadable, malformed or unsafe file is an empty cache.
    public init(url: URL) {
        self.url = url
        state = Locked((Self.load(url) ?? [:], false, []))
    }

    /// The cached hash of the opened file at `path`, if the file is unchanged since it was hashed.
    func sha256(path: String, file st: stat) -> String? {
        let key = FileKey(st)
        return state.withLock { s in
            s.seen.insert(path)
            return s.entries[path].flatMap { $0.file == key ? $0.sha256 : nil }
        }
    }

    func remember(path: String, file st: stat, sha256: String) {
        let entry = Entry(file: FileKey(st), sha256: sha256)
        state.withLock { s in
            s.seen.insert(path)
            if s.entries[path]?.file != entry.file || s.entries[path]?.sha256 != sha256 {
                s.entries[path] = entry
                s.changed = true
            }
        }
    }

    /// Writes the cache if anything changed, atomically, mode 0600, keeping only the files asked about since it was
    /// read: one that is gone, or that the loader no longer reaches, drops out. A cache that cannot be written only
    /// costs the next command a hash, so a failure is not an error.
    public func save() {
        let entries = state.withLock { s -> [String: Entry]? in
            let kept = s.entries.filter { s.seen.contains($0.key) }
            defer {
                s.entries = kept
                s.changed = false
            }
            return s.changed || kept.count != s.entries.count ? kept : nil
        }
        guard let entries, let data = try? JSONCoding.encode(entries) else { return }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == data.count, rename(temporary.path, url.path) == 0 else {
            unlink(temporary.path)
            return
        }
    }

    private static func load(_ url: URL) -> [String: Entry]? {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == getuid(), st.st_mode & 0o022 == 0,
            st.st_size < 1 << 20
        else { return nil }
        var data = Data(count: Int(st.st_size))
        let n = data.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n == Int(st.st_size) else { return nil }
        return try? JSONCoding.decoder().decode([String: Entry].self, from: data)
    }
}
