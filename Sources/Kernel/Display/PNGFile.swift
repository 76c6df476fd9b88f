import Foundation
import Graphics
import Jupyter
import Numerics

/// An image file (PNG, JPEG or WebP) read for display. It is decoded whole first, with the limits that
/// `concept` applies, so a damaged file or one that declares an absurd size is refused here rather than
/// handed to the front end. A PNG of moderate size goes to the front end unchanged, except that small
/// opaque images are shown enlarged; JPEG and WebP are shown upright (EXIF orientation) as PNG, and
/// large images scaled down so that a notebook does not carry megapixels.
struct PNGFile {
    let url: URL
    let bytes: Data
    let format: String
    let width: Int
    let height: Int
    /// What is displayed: the file itself, or a PNG made from it (see above).
    let shown: (png: Data, width: Int, height: Int, scale: Int)

    /// Images whose longer side is below this are shown enlarged.
    static let enlargeBelow = 128
    /// Images whose longer side is above this are shown scaled down to it.
    static let shrinkAbove = 1024

    init(_ url: URL, shownAs name: String) throws {
        self.url = url
        do { bytes = try FileAccess.read(url, limit: ImageFile.maxFileBytes) } catch {
            throw CommandError("cannot read \(name): \(error)")
        }
        let decoded: RGBAImage
        do { decoded = try ImageFile.decode(bytes, source: name) } catch {
            throw CommandError(String(describing: error))
        }
        format = ImageFile.format(of: bytes) ?? "image"
        (width, height) = (decoded.width, decoded.height)
        let longer = max(width, height)
        let scale = (Self.enlargeBelow + longer - 1) / longer
        func png(_ image: Image) throws -> Data {
            do { return try image.pngData() } catch { throw CommandError("cannot show \(name): \(error)") }
        }
        if scale > 1 && !decoded.hadAlpha {
            let image = decoded.composited()
            let enlarged = image.resized(width: image.width * scale, height: image.height * scale, filter: .nearest)
            shown = (try png(enlarged), enlarged.width, enlarged.height, scale)
        } else if format != "PNG" || longer > Self.shrinkAbove {
            var image = decoded.composited()
            if longer > Self.shrinkAbove {
                let (w, h) = (max(1, width * Self.shrinkAbove / longer), max(1, height * Self.shrinkAbove / longer))
                image = image.resized(width: w, height: h, filter: .area)
            }
            shown = (try png(image), image.width, image.height, 1)
        } else {
            shown = (bytes, width, height, 1)
        }
    }

    var bundle: MimeBundle {
        [
            "image/png": .string(shown.png.base64EncodedString()),
            "text/plain": .string(
                "<\(url.lastPathComponent): \(format) \(width)x\(height), \(bytes.count) bytes"
                    + (shown.scale > 1
                        ? ", shown \(shown.scale)x"
                        : shown.width != width ? ", shown at \(shown.width)x\(shown.height)" : "")
                    + ">"
            )
        ]
    }

    var metadata: [String: JSON] { ["image/png": ["width": .int(shown.width), "height": .int(shown.height)]] }
}

private func isFolder(_ path: String) -> Bool {
    var folder: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &folder) && folder.boolValue
}

/// Expands `*`, `?` and `[...]` patterns against the file system to the image files (PNG, JPEG, WebP,
/// by extension) they match, sorted (so `dir/*` skips the caption files next to the images); a folder
/// stands for the image files in it, as training scripts take a folder of images; other paths must exist.
func expandPattern(_ path: String) throws -> [(url: URL, name: String)] {
    guard path.contains(where: { "*?[".contains($0) }) else {
        let url = resolvePath(path)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CommandError(
                "no such file: \(path) (paths are relative to \(FileManager.default.currentDirectoryPath))")
        }
        guard isFolder(url.path) else { return [(url, path)] }
        let images: [URL]
        do { images = try ImageFile.imageFiles(inFolder: url) } catch { throw CommandError("\(error)") }
        guard !images.isEmpty else { throw CommandError("the folder \(path) holds no image files (PNG, JPEG, WebP)") }
        return images.map { ($0, (path.hasSuffix("/") ? path : path + "/") + $0.lastPathComponent) }
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
            if isFolder(matched) || !ImageFile.hasImageExtension(matched) { continue }
            found.append((URL(fileURLWithPath: matched), matched))
        }
    }
    guard !found.isEmpty else { throw CommandError("\(path) matches no image file (PNG, JPEG, WebP)") }
    return found.sorted { $0.1 < $1.1 }
}
