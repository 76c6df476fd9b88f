import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Files written whole or not at all: the bytes go to a temporary file beside the target, are
/// flushed to disk, and the temporary is renamed over the target. A crash (or kill -9) at any
/// moment leaves either the old file or the new one under the real name.
///
/// Temporaries are named `.NAME.HOST-PID-N.gradti-tmp`, so processes writing beside each other
/// (autosaves, cluster shards on a shared file system) each know their own; a later write in
/// the same folder removes those of this host whose process no longer runs.
extension FileAccess {
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let target = try checkWritableTarget(url)
        let folder = target.deletingLastPathComponent()
        removeOrphanedTemporaries(in: folder)
        let temporary = folder.appendingPathComponent(".\(target.lastPathComponent).\(temporaryTag).gradti-tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("cannot write \(target.path): \(reason(errno))") }
        var failure: Int32 = 0
        data.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    failure = n < 0 ? errno : EIO
                    return
                }
                written += n
            }
        }
        if failure == 0 && fsync(fd) != 0 && errno != EINVAL { failure = errno }
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure == 0 && rename(temporary.path, target.path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary.path)
            throw FileError("cannot write \(target.path): \(reason(failure))")
        }
    }

    /// Text as UTF-8, written atomically.
    public static func writeAtomically(_ text: String, to url: URL) throws {
        try writeAtomically(Data(text.utf8), to: url)
    }

    /// The target as an absolute file URL, or an error when it is no place for a file: an empty
    /// name, a folder, a device, a FIFO or a socket (renaming over one would replace it), or a
    /// parent that is not a folder.
    public static func checkWritableTarget(_ url: URL) throws -> URL {
        let path = url.path
        guard !path.isEmpty else { throw FileError("no file name given: name the file to write") }
        let name = url.lastPathComponent
        guard !path.hasSuffix("/"), name != ".", name != "..", name != "/" else {
            throw FileError("\(path) is a folder; give the name of a file inside it")
        }
        var info = stat()
        if stat(path, &info) == 0 && info.st_mode & S_IFMT != S_IFREG {
            throw FileError(
                "\(path) exists and is \(kind(info.st_mode)); gradti only replaces regular files: choose another name")
        }
        let folder = url.deletingLastPathComponent()
        guard stat(folder.path, &info) == 0 else {
            throw FileError("cannot write \(path): its folder \(folder.path) cannot be used (\(reason(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw FileError("cannot write \(path): \(folder.path) is \(kind(info.st_mode)), not a folder")
        }
        return url
    }

    /// Unique per host, process and write.
    private static var temporaryTag: String {
        "\(hostName)-\(getpid())-\(temporaryCounter.add(1))"
    }

    private static let temporaryCounter = Counter()

    private static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        // Only letters, digits and _ so that the tag splits back unambiguously.
        let name = String(
            String(cString: buffer).unicodeScalars.map {
                CharacterSet.alphanumerics.contains($0) && $0.isASCII ? Character($0) : "_"
            })
        return name.isEmpty ? "host" : name
    }()

    /// Removes `.…HOST-PID-N.gradti-tmp` files of this host whose process is gone.
    static func removeOrphanedTemporaries(in folder: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        let mine = "\(hostName)-"
        for name in names where name.hasPrefix(".") && name.hasSuffix(".gradti-tmp") {
            let tag = name.dropLast(".gradti-tmp".count).split(separator: ".").last ?? ""
            guard tag.hasPrefix(mine) else { continue }
            let fields = tag.dropFirst(mine.count).split(separator: "-")
            guard fields.count == 2, let pid = pid_t(fields[0]), pid > 0 else { continue }
            if !isRunning(pid) { unlink(folder.appendingPathComponent(name).path) }
        }
    }

    /// Whether process `pid` runs: it exists and is not a zombie (killed, not yet reaped by its parent).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        // /proc/PID/stat: "PID (NAME) STATE …"; the name may hold spaces and parentheses.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first != "Z"
    }
}

/// A thread-safe counter for unique names.
final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func add(_ n: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += n
        return value
    }
}
