import Foundation

/// A read-only file mapped into memory, privately (copy-on-write), so tensors can point into it
/// without copying and nothing ever writes the file.
final class MappedFile {
    let base: UnsafeMutableRawPointer
    let size: Int

    init(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw SafeTensorsError(url, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SafeTensorsError(url, "cannot stat: \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw SafeTensorsError(url, "not a regular file") }
        size = Int(info.st_size)
        guard size > 0 else { throw SafeTensorsError(url, "the file is empty") }
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw SafeTensorsError(url, "cannot map: \(String(cString: strerror(errno)))")
        }
        base = address
    }

    deinit { munmap(base, size) }
}
