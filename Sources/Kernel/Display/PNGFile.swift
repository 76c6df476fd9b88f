import Foundation
import Graphics
import Jupyter
import Numerics

/// A PNG file read for display. It is decoded whole first, with the limits that `concept` applies,
/// so a file that declares an absurd size or lacks its palette is refused here rather than handed
/// to the front end; the bytes go to the front end unchanged, except that small opaque images are
/// shown enlarged.
struct PNGFile {
    let url: URL
    let bytes: Data
    let width: Int
    let height: Int
    /// What is displayed: the file itself, or for small opaque images (model-resolution scenes of
    /// 32x32) the image enlarged by a whole factor with sharp pixels, so it reads in a notebook. Images
    /// that may be transparent (alpha or palette colour types) are left as they are: enlarging would
    /// flatten them onto a background.
    let shown: (png: Data, width: Int, height: Int, scale: Int)

    /// Images whose longer side is below this are shown enlarged.
    static let enlargeBelow = 128

    init(_ url: URL, shownAs name: String) throws {
        self.url = url
        do { bytes = try FileAccess.read(url, limit: PNG.maxFileBytes) } catch {
            throw CommandError("cannot read \(name): \(error)")
        }
        guard bytes.starts(with: PNG.signature) else { throw CommandError("\(name) is \(PNG.notPNG(bytes))") }
        let decoded: RGBAImage
        do { decoded = try PNG.decode(bytes, source: name) } catch {
            throw CommandError(
                "\(name) is a corrupt PNG: \(String(describing: error).replacingOccurrences(of: "\(name): ", with: ""))"
            )
        }
        (width, height) = (decoded.width, decoded.height)
        let scale = (Self.enlargeBelow + max(width, height) - 1) / max(width, height)
        if scale > 1 && !decoded.hadAlpha {
            let image = decoded.composited()
            let enlarged = image.resized(width: image.width * scale, height: image.height * scale, filter: .nearest)
            do { shown = (try enlarged.pngData(), enlarged.width, enlarged.height, scale) } catch {
                throw CommandError("cannot show \(name): \(error)")
            }
        } else {
            shown = (bytes, width, height, 1)
        }
    }

    var bundle: MimeBundle {
        [
            "image/png": .string(shown.png.base64EncodedString()),
            "text/plain": .string(
                "<\(url.lastPathComponent): PNG \(width)x\(height), \(bytes.count) "
                    + "bytes\(shown.scale > 1 ? ", shown \(shown.scale)x" : "")>"
            )
        ]
    }

    var metadata: [String: JSON] { ["image/png": ["width": .int(shown.width), "height": .int(shown.height)]] }
}

private func isFolder(_ path: String) -> Bool {
    var folder: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &folder) && folder.boolValue
}

/// Expands `*`, `?` and `[...]` patterns against the file system to the PNG files they match, sorted
/// (so `dir/*` skips the caption files next to the images); a folder stands for the PNG files in it, as
/// training scripts take a folder of images; other paths must exist.
func expandPattern(_ path: String) throws -> [(url: URL, name: String)] {
    guard path.contains(where: { "*?[".contains($0) }) else {
        let url = resolvePath(path)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CommandError(
                "no such file: \(path) (paths are relative to \(FileManager.default.currentDirectoryPath))")
        }
        guard isFolder(url.path) else { return [(url, path)] }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
            throw CommandError("cannot list the folder \(path): \(error.localizedDescription)")
        }
        // Hidden files are left out, as `*.png` leaves them out (macOS's ._x.png are not images).
        let images = names.filter {
            !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".png") && !isFolder(url.appendingPathComponent($0).path)
        }.sorted()
        guard !images.isEmpty else { throw CommandError("the folder \(path) holds no .png files") }
        return images.map { (url.appendingPathComponent($0), (path.hasSuffix("/") ? path : path + "/") + $0) }
    }
    let absolute = resolvePath(path).path
    var result = glob_t()
    defer { globfree(&result) }
    guard glob(absolute, 0, nil, &result) == 0 else { throw CommandError("no file matches \(path)") }
    var found: [(URL, String)] = []
    for i in 0..<Int(result.gl_pathc) {
        if let cPath = result.gl_pathv[i] {
            let matched = String(cString: cPath)
            // Folders and other files (captions) that a pattern such as dir/* matches are not images: skipped.
            if isFolder(matched) || !matched.lowercased().hasSuffix(".png") { continue }
            found.append((URL(fileURLWithPath: matched), matched))
        }
    }
    guard !found.isEmpty else { throw CommandError("\(path) matches no .png file") }
    return found.sorted { $0.1 < $1.1 }
}
