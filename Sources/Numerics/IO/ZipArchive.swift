import CZip
import Foundation

/// A zip archive read through libzip: the container of PyTorch checkpoints. Entries are read whole or by
/// byte range, straight into the caller's buffer.
final class ZipArchive {
    let url: URL
    private let archive: OpaquePointer
    /// Entry names in archive order.
    let names: [String]
    private let index: [String: Int]

    init(_ url: URL) throws {
        self.url = url
        var code: Int32 = 0
        guard let archive = zip_open(url.path, ZIP_RDONLY | ZIP_CHECKCONS, &code) else {
            var error = zip_error_t()
            zip_error_init_with_code(&error, code)
            defer { zip_error_fini(&error) }
            throw FileError(
                "\(displayPath(url)) is not a readable zip archive (\(String(cString: zip_error_strerror(&error))))")
        }
        self.archive = archive
        let count = max(0, Int(zip_get_num_entries(archive, 0)))
        var names: [String] = []
        for i in 0..<count { names.append(zip_get_name(archive, zip_uint64_t(i), 0).map { String(cString: $0) } ?? "") }
        self.names = names
        index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    deinit { zip_discard(archive) }

    func contains(_ name: String) -> Bool { index[name] != nil }

    /// The uncompressed size of entry `name`.
    func size(_ name: String) throws -> Int {
        guard let i = index[name] else { throw FileError("\(displayPath(url)): no \(name) in the archive") }
        var stat = zip_stat_t()
        guard zip_stat_index(archive, zip_uint64_t(i), 0, &stat) == 0 else { throw failure("cannot read \(name)") }
        return Int(stat.size)
    }

    /// Entry `name` whole.
    func read(_ name: String, limit: Int = 1 << 30) throws -> Data {
        let count = try size(name)
        guard count <= limit else {
            throw FileError("\(displayPath(url)): \(name) is \(count) bytes, more than expected")
        }
        var data = Data(count: count)
        try data.withUnsafeMutableBytes { try read(name, offset: 0, into: $0) }
        return data
    }

    /// Bytes `offset ..< offset + buffer.count` of entry `name` into `buffer`.
    func read(_ name: String, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard let i = index[name] else { throw FileError("\(displayPath(url)): no \(name) in the archive") }
        guard let file = zip_fopen_index(archive, zip_uint64_t(i), 0) else { throw failure("cannot open \(name)") }
        defer { zip_fclose(file) }
        if offset > 0 {
            guard zip_fseek(file, zip_int64_t(offset), SEEK_SET) == 0 else {
                // Compressed entries cannot seek: read and drop the bytes before the range.
                var skip = [UInt8](repeating: 0, count: min(offset, 1 << 20))
                var left = offset
                while left > 0 {
                    let got = zip_fread(file, &skip, zip_uint64_t(min(left, skip.count)))
                    guard got > 0 else { throw failure("\(name) ends before byte \(offset)") }
                    left -= Int(got)
                }
                try fill(file, buffer, name)
                return
            }
        }
        try fill(file, buffer, name)
    }

    private func fill(_ file: OpaquePointer, _ buffer: UnsafeMutableRawBufferPointer, _ name: String) throws {
        var filled = 0
        while filled < buffer.count {
            let got = zip_fread(file, buffer.baseAddress! + filled, zip_uint64_t(buffer.count - filled))
            guard got > 0 else {
                throw failure(got < 0 ? "cannot read \(name) (a damaged archive?)" : "\(name) ends early")
            }
            filled += Int(got)
        }
    }

    private func failure(_ what: String) -> FileError {
        FileError("\(displayPath(url)): \(what): \(String(cString: zip_strerror(archive)))")
    }
}
