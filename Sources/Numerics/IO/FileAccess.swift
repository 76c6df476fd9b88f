import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file that could not be read or written, with the path and the reason in words.
public struct FileError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reading and writing files the way a long-lived kernel must: only regular files are read
/// (opening a FIFO blocks forever, a device never ends), only regular files are replaced (saving
/// "to /dev/full" as root must not replace the device), and every error names the file and says
/// what is wrong in words rather than a Foundation error code.
public enum FileAccess {
    /// What an errno means for someone who gave a path.
    public static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file or folder"
        case EACCES, EPERM: return "permission denied"
        case EISDIR: return "it is a folder, not a file"
        case ENOTDIR: return "a part of the path is not a folder"
        case ENOSPC: return "no space left on the device"
        case EDQUOT: return "the disk quota is exceeded"
        case EROFS: return "the file system is read-only"
        case ELOOP: return "too many symbolic links (a link loop?)"
        case ENAMETOOLONG: return "the path is too long"
        case EMFILE, ENFILE: return "too many open files"
        case EIO: return "an input/output error of the device"
        case EXDEV: return "the temporary file and the target are on different file systems"
        default: return String(cString: strerror(code))
        }
    }

    /// What kind of thing a `stat` mode describes, for errors.
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a folder"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// Opens a regular file for reading, following symbolic links (model caches link to blobs).
    /// The open does not block on a FIFO, and anything but a regular file is refused.
    /// Returns the descriptor (the caller closes it) and the file's size.
    public static func openRegular(_ url: URL) throws -> (fd: Int32, size: Int) {
        let path = url.path
        guard !path.isEmpty else { throw FileError("no file name given") }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw FileError("\(displayPath(url)): cannot read: \(reason(errno))") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw FileError("\(displayPath(url)): cannot read: \(reason(code))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw FileError("\(displayPath(url)) is \(kind(info.st_mode)), not a file gradti can read")
        }
        // Back to blocking reads: a regular file never blocks, and some file systems want it.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return (fd, Int(info.st_size))
    }

    /// The first `count` bytes of a regular file (fewer if it is shorter): enough to tell a format.
    public static func firstBytes(_ url: URL, count: Int) throws -> [UInt8] {
        let (fd, _) = try openRegular(url)
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: count)
        let got = Glibc.read(fd, &head, count)
        return Array(head.prefix(max(got, 0)))
    }

    /// Reads a regular file whole; `limit` bounds what is read so a huge file cannot exhaust memory.
    public static func read(_ url: URL, limit: Int = Int.max) throws -> Data {
        let (fd, size) = try openRegular(url)
        defer { close(fd) }
        guard size <= limit else {
            throw FileError("\(displayPath(url)) is \(size) bytes, more than the \(limit) that such a file may have")
        }
        var data = Data(count: size)
        var filled = 0
        while filled < size {
            let got = data.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, size - filled) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw FileError("\(displayPath(url)): cannot read: \(reason(errno))") }
            if got == 0 { break }  // The file shrank while we read it.
            filled += got
        }
        return data.prefix(filled)
    }

    /// Reads a regular file as UTF-8 text (invalid bytes are an error naming the file).
    public static func readText(_ url: URL, limit: Int = 256 << 20) throws -> String {
        let data = try read(url, limit: limit)
        guard let text = String(data: data, encoding: .utf8) else {
            throw FileError("\(displayPath(url)) is not UTF-8 text")
        }
        return text
    }

    /// Whether a regular file (after following links) exists at `url`.
    public static func isRegularFile(_ url: URL) -> Bool {
        var info = stat()
        return stat(url.path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }
}
