import Foundation
import Jupyter

/// A PNG file read for display. Only the signature and the IHDR chunk are checked here:
/// the bytes go to the front end unchanged.
struct PNGFile {
    let url: URL
    let bytes: Data
    let width: Int
    let height: Int

    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

    init(_ url: URL, shownAs name: String) throws {
        self.url = url
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CommandError("no such file: \(name) (paths are relative to \(FileManager.default.currentDirectoryPath))")
        }
        guard !isDirectory.boolValue else { throw CommandError("\(name) is a folder; give PNG files or a pattern such as \(name)/*.png") }
        do { bytes = try Data(contentsOf: url) } catch {
            throw CommandError("cannot read \(name): \(error.localizedDescription)")
        }
        guard bytes.count >= 24, Array(bytes.prefix(8)) == Self.signature,
              String(decoding: bytes[12..<16], as: UTF8.self) == "IHDR"
        else { throw CommandError("\(name) is not a PNG file (gradti shows PNG images)") }
        let header = Array(bytes[16..<24])
        width = header[0..<4].reduce(0) { $0 << 8 | Int($1) }
        height = header[4..<8].reduce(0) { $0 << 8 | Int($1) }
        guard width > 0, height > 0 else { throw CommandError("\(name) is a corrupt PNG (its size is \(width)x\(height))") }
    }

    var bundle: MimeBundle {
        ["image/png": .string(bytes.base64EncodedString()),
         "text/plain": .string("<\(url.lastPathComponent): PNG \(width)x\(height), \(bytes.count) bytes>")]
    }

    var metadata: [String: JSON] { ["image/png": ["width": .int(width), "height": .int(height)]] }
}

/// Expands `*`, `?` and `[...]` patterns against the file system, sorted; plain paths pass through.
func expandPattern(_ path: String) throws -> [(url: URL, name: String)] {
    guard path.contains(where: { "*?[".contains($0) }) else { return [(resolvePath(path), path)] }
    let absolute = resolvePath(path).path
    var result = glob_t()
    defer { globfree(&result) }
    guard glob(absolute, 0, nil, &result) == 0 else { throw CommandError("no file matches \(path)") }
    var found: [(URL, String)] = []
    for i in 0..<Int(result.gl_pathc) {
        if let cPath = result.gl_pathv[i] {
            let matched = String(cString: cPath)
            found.append((URL(fileURLWithPath: matched), matched))
        }
    }
    return found.sorted { $0.1 < $1.1 }
}
