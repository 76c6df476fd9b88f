import Foundation

/// A read-only file mapped into memory, privately (copy-on-write), so tensors can point into it
/// without copying and nothing ever writes the file.
final class MappedFile {
    let base: UnsafeMutableRawPointer
    let size: Int

    init(_ url: URL) throws {
        // Refuses FIFOs, devices and folders without blocking on them.
        let (fd, size): (Int32, Int)
        do { (fd, size) = try FileAccess.openRegular(url) } catch let error as FileError {
            throw SafeTensorsError(error)
        }
        defer { close(fd) }
        self.size = size
        guard size > 0 else { throw SafeTensorsError(url, "the file is empty") }
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw SafeTensorsError(url, "cannot map: \(String(cString: strerror(errno)))")
        }
        base = address
    }

    deinit { munmap(base, size) }
}
