import AppLinksCore
import AppLinksCrypto
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A plugin file opened once, checked and hashed through that one descriptor, and loaded from it.
///
/// Checking a path and then loading the path leaves a gap in which the file can be swapped. Here the host
/// opens the file, checks the opened file's owner and mode, hashes what it reads through the descriptor, and
/// `dlopen`s `/proc/self/fd/N`, so what is loaded is the very file that was hashed. A runner gets the same
/// descriptor as its fd 3.
///
/// ```swift
/// let library = try VerifiedLibrary(path: "/usr/lib/applinks/plugins/libjenkins.so")
/// dlopen(library.loadPath, RTLD_NOW | RTLD_LOCAL)
/// ```
final class VerifiedLibrary: Sendable {
    let path: String
    let fd: Int32
    let sha256: String
    /// The device and inode of the opened file, to tell whether the path still names it.
    let identity: (dev: UInt64, ino: UInt64)

    /// Set once `dlopen` has seen ``loadPath``: the descriptor then stays open for the life of the process.
    /// The loader knows a library by the name it was opened under, so a later file opened under the same fd
    /// number would be taken for this one.
    private let inUse = Atomic<Bool>(false)

    /// What this process passes to `dlopen`; the descriptor is never closed afterwards.
    var loadPath: String {
        inUse.store(true, ordering: .relaxed)
        return "/proc/self/fd/\(fd)"
    }

    /// - Parameter hashes: where the sha256 of an unchanged file may be found instead of reading the whole file;
    ///   see ``PluginHashCache``.
    init(path: String, hashes: PluginHashCache? = nil) throws(AppLinksError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            throw AppLinksError(.pluginRefused, "it cannot be opened: \(String(cString: strerror(errno))). Fix: check its permissions.")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw AppLinksError(.pluginRefused, "it cannot be inspected. Fix: check the path.")
        }
        do {
            try PluginTrust.checkFile(st, path: path)
        } catch {
            close(fd)
            throw error
        }
        var magic = [UInt8](repeating: 0, count: 4)
        guard pread(fd, &magic, 4, 0) == 4, magic == [0x7F, 0x45, 0x4C, 0x46] else {
            close(fd)
            throw AppLinksError(
                .pluginRefused,
                "the file is not a shared library (it has no ELF header). Fix: remove it from the plugin directory, or rebuild it with "
                    + "`cc -shared -fPIC`.")
        }
        let sha256: String
        if let cached = hashes?.sha256(path: path, file: st) {
            sha256 = cached
        } else {
            guard let bytes = Self.readAll(fd) else {
                close(fd)
                throw AppLinksError(.pluginRefused, "it cannot be read: \(String(cString: strerror(errno))). Fix: check its permissions.")
            }
            sha256 = Digest.sha256(bytes).hexString
            hashes?.remember(path: path, file: st, sha256: sha256)
        }
        self.path = path
        self.fd = fd
        self.sha256 = sha256
        self.identity = (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// Throws if the path no longer names the file that was opened: someone replaced it after it was checked.
    func checkUnchanged() throws(AppLinksError) {
        var st = stat()
        guard stat(path, &st) == 0, UInt64(st.st_dev) == identity.dev, UInt64(st.st_ino) == identity.ino else {
            throw AppLinksError(
                .pluginRefused,
                "the file was replaced while it was being loaded. Fix: check who writes to \((path as NSString).deletingLastPathComponent), "
                    + "then start the host again.")
        }
    }

    /// The hash of what the descriptor holds now; a restart runs only the file that was first verified.
    func currentSHA256() -> String? {
        guard lseek(fd, 0, SEEK_SET) == 0, let bytes = Self.readAll(fd) else { return nil }
        return Digest.sha256(bytes).hexString
    }

    /// Everything from the descriptor's offset to its end; nil on a read error.
    private static func readAll(_ fd: Int32) -> Data? {
        var st = stat()
        // One byte more than the file, so that the read which finds its end needs no room of its own.
        var bytes = Data(count: fstat(fd, &st) == 0 ? max(Int(st.st_size) + 1, 1 << 16) : 1 << 16)
        var filled = 0
        while true {
            if filled == bytes.count { bytes.count *= 2 }
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 {
                bytes.count = filled
                return bytes
            }
            filled += n
        }
    }

    deinit { if !inUse.load(ordering: .relaxed) { close(fd) } }
}

/// Who may have written a plugin file: the rules `sudo` applies to its own plugins.
enum PluginTrust {
    /// The opened file: a regular file owned by root or the host's user, writable by no one else (its group
    /// only if that is root's).
    static func checkFile(_ st: stat, path: String) throws(AppLinksError) {
        let uid = getuid()
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw AppLinksError(.pluginRefused, "it is not a regular file. Fix: point the plugin path at a .so file.")
        }
        if st.st_mode & S_IWOTH != 0 {
            throw AppLinksError(.pluginRefused, "the file is world-writable. Fix: run `chmod o-w \(path)`.")
        }
        if st.st_mode & S_IWGRP != 0 && st.st_gid != 0 {
            throw AppLinksError(
                .pluginRefused, "the file is writable by group \(st.st_gid), not root's. Fix: run `chmod g-w \(path)`.")
        }
        if st.st_uid != 0 && st.st_uid != uid {
            throw AppLinksError(
                .pluginRefused,
                "the file is owned by uid \(st.st_uid), neither root nor the user running AppLinks (uid \(uid)). "
                    + "Fix: run `chown \(uid) \(path)` if you trust it.")
        }
    }

    /// Every directory from the file's up to `/`: owned by root or the host's user, and writable by no one else,
    /// unless it is sticky (as /tmp is), where others may add files but not replace ours.
    static func checkDirectories(of path: String) throws(AppLinksError) {
        let uid = getuid()
        var dir = (path as NSString).deletingLastPathComponent
        while true {
            var st = stat()
            guard stat(dir, &st) == 0 else {
                throw AppLinksError(.pluginRefused, "its directory \(dir) cannot be inspected. Fix: check the path.")
            }
            let sticky = st.st_mode & S_ISVTX != 0
            if st.st_mode & S_IWOTH != 0 && !sticky {
                throw AppLinksError(
                    .pluginRefused, "the directory \(dir) is world-writable, so anyone could replace the file. Fix: run `chmod o-w \(dir)`."
                )
            }
            if st.st_mode & S_IWGRP != 0 && st.st_gid != 0 && !sticky {
                throw AppLinksError(
                    .pluginRefused,
                    "the directory \(dir) is writable by group \(st.st_gid), whose members could replace the file. Fix: run `chmod g-w \(dir)`."
                )
            }
            if st.st_uid != 0 && st.st_uid != uid {
                throw AppLinksError(
                    .pluginRefused,
                    "the directory \(dir) is owned by uid \(st.st_uid), who could replace the file. Fix: move the plugin to a directory "
                        + "owned by root or by uid \(uid).")
            }
            if dir == "/" || dir.isEmpty { return }
            dir = (dir as NSString).deletingLastPathComponent
        }
    }
}
