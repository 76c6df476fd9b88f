import Foundation
import Numerics

public struct ImageFileError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Images as they come: PNG, JPEG and WebP, told apart by their bytes (never by the file name), turned
/// upright by their EXIF orientation.
public enum ImageFile {
    /// Larger files are refused before they are read: photos are megabytes, not gigabytes.
    public static let maxFileBytes = 512 << 20
    /// The largest side read (the C PNG codec's limit too): a corrupt header must not allocate gigabytes.
    public static let maxSide = 16_384

    /// The most pixels read (Pillow's `MAX_IMAGE_PIXELS`): a small file that declares 16384x16384 must
    /// not take gigabytes.
    public static let maxPixels = 89_478_485

    /// Why a declared size is refused (after "the PNG declares …"), or nil when it is within the limits.
    static func sizeProblem(_ width: Int, _ height: Int, format: String, maxPixels: Int) -> String? {
        guard (1...maxSide).contains(width), (1...maxSide).contains(height), width * height <= maxPixels else {
            let most = maxPixels >= 1_000_000 ? "\(maxPixels / 1_000_000) megapixels" : "\(maxPixels) pixels"
            return "the \(format) declares \(width)x\(height) pixels; gradti reads images of 1 to \(maxSide) "
                + "pixels a side and at most \(most)"
        }
        return nil
    }

    /// Throws when a header declares a size outside the limits.
    static func checkSize(_ width: Int, _ height: Int, format: String, source: String, maxPixels: Int) throws {
        if let problem = sizeProblem(width, height, format: format, maxPixels: maxPixels) {
            throw ImageFileError("\(source): \(problem)")
        }
    }

    /// Whether a file name says image: the extensions of the formats gradti reads (folders and patterns
    /// pick files by it; the bytes decide the format).
    public static func hasImageExtension(_ name: String) -> Bool {
        ["png", "jpg", "jpeg", "webp"].contains((name as NSString).pathExtension.lowercased())
    }

    /// The image files of a folder (by extension), sorted by name, as training scripts take a folder of
    /// images: hidden files (macOS's `._x.jpg`), sub-folders and caption files are left out.
    public static func imageFiles(inFolder folder: URL) throws -> [URL] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw ImageFileError("cannot list the folder \(folder.path): \(error.localizedDescription)")
        }
        return names.filter { name in
            var isFolder: ObjCBool = false
            let path = folder.appendingPathComponent(name).path
            return !name.hasPrefix(".") && hasImageExtension(name)
                && !(FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue)
        }.sorted().map { folder.appendingPathComponent($0) }
    }

    /// The format of `data` by its first bytes, for decoding and for errors ("a GIF file").
    public static func format(of data: Data) -> String? {
        let head = Array(data.prefix(12))
        if head.starts(with: PNG.signature) { return "PNG" }
        if head.starts(with: JPEG.signature) { return "JPEG" }
        if WebP.isWebP(data) { return "WebP" }
        if head.starts(with: Array("GIF8".utf8)) { return "GIF" }
        if head.starts(with: Array("BM".utf8)) { return "BMP" }
        if head.starts(with: [0x49, 0x49, 0x2A, 0x00]) || head.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
        if head.count == 12, head[4..<8].elementsEqual("ftyp".utf8) {
            return head[8..<12].elementsEqual("avif".utf8) ? "AVIF" : "HEIF/HEIC"
        }
        return nil
    }

    /// Decodes PNG, JPEG or WebP bytes, upright; `source` names the data in errors. A header declaring
    /// more than `maxPixels` is refused before anything is decoded.
    public static func decode(_ data: Data, source: String, maxPixels: Int = maxPixels) throws -> RGBAImage {
        switch format(of: data) {
        case "PNG":
            do { return try PNG.decode(data, source: source, maxPixels: maxPixels) } catch let error as PNGError {
                let reason =
                    error.description.hasPrefix(source + ": ")
                    ? String(error.description.dropFirst(source.count + 2)) : error.description
                throw ImageFileError("\(source) is a corrupt PNG: \(reason)")
            }
        case "JPEG":
            let image = try JPEG.decode(data, source: source, maxPixels: maxPixels)
            return image.oriented(JPEGMarkers(data).exif.flatMap(EXIF.orientation) ?? 1)
        case "WebP":
            let image = try WebP.decode(data, source: source, maxPixels: maxPixels)
            return image.oriented(WebP.exif(data).flatMap(EXIF.orientation) ?? 1)
        case let other?:
            throw ImageFileError(
                "\(source) is a \(other) file: gradti reads PNG, JPEG and WebP images; convert it first (for "
                    + "example `convert photo.\(other.lowercased()) photo.png` with ImageMagick)")
        case nil:
            throw ImageFileError(
                "\(source) is not an image gradti reads (PNG, JPEG or WebP): its bytes are none of them")
        }
    }

    public static func read(_ url: URL) throws -> RGBAImage {
        let data: Data
        do { data = try FileAccess.read(url, limit: maxFileBytes) } catch {
            throw ImageFileError(String(describing: error))
        }
        return try decode(data, source: displayPath(url))
    }
}

/// The orientation tag (0x0112) of an EXIF block, in either byte order.
enum EXIF {
    static func orientation(_ tiff: Data) -> Int? {
        let b = [UInt8](tiff.prefix(1 << 16))
        guard b.count >= 8 else { return nil }
        let little: Bool
        if b.starts(with: [0x49, 0x49, 0x2A, 0x00]) {
            little = true
        } else if b.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) {
            little = false
        } else {
            return nil
        }
        func u16(_ i: Int) -> Int? {
            guard i >= 0, i + 2 <= b.count else { return nil }
            return little ? Int(b[i]) | Int(b[i + 1]) << 8 : Int(b[i]) << 8 | Int(b[i + 1])
        }
        func u32(_ i: Int) -> Int? {
            guard let a = u16(i), let c = u16(i + 2) else { return nil }
            return little ? a | c << 16 : a << 16 | c
        }
        guard let ifd = u32(4), let count = u16(ifd) else { return nil }
        for entry in 0..<count {
            let at = ifd + 2 + 12 * entry
            guard let tag = u16(at) else { return nil }
            if tag == 0x0112, u16(at + 2) == 3, let value = u16(at + 8), (1...8).contains(value) { return value }
        }
        return nil
    }
}

extension RGBAImage {
    /// The image turned upright for EXIF orientation `value` (1: as stored … 8), as Pillow's
    /// `ImageOps.exif_transpose` does.
    public func oriented(_ value: Int) -> RGBAImage {
        guard (2...8).contains(value) else { return self }
        let (w, h) = (width, height)
        let swaps = value >= 5
        let (ow, oh) = swaps ? (h, w) : (w, h)
        // Source pixel of output (x, y) = origin + x·stepX + y·stepY, in whole pixels: the transform is
        // chosen once, and the loop copies 32-bit pixels (photos are tens of megapixels).
        let (origin, stepX, stepY): (Int, Int, Int)
        switch value {
        case 2: (origin, stepX, stepY) = (w - 1, -1, w)  // mirrored left-right
        case 3: (origin, stepX, stepY) = (h * w - 1, -1, -w)  // rotated 180°
        case 4: (origin, stepX, stepY) = ((h - 1) * w, 1, -w)  // mirrored top-bottom
        case 5: (origin, stepX, stepY) = (0, w, 1)  // transposed
        case 6: (origin, stepX, stepY) = ((h - 1) * w, -w, 1)  // stored 90° anticlockwise: turned clockwise
        case 7: (origin, stepX, stepY) = (h * w - 1, -w, -1)  // transversed
        default: (origin, stepX, stepY) = (w - 1, w, -1)  // 8: stored 90° clockwise: turned anticlockwise
        }
        var out = [UInt8](repeating: 0, count: rgba.count)
        rgba.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { target in
                for y in 0..<oh {
                    var at = origin + y * stepY
                    for x in 0..<ow {
                        let pixel = source.loadUnaligned(fromByteOffset: 4 * at, as: UInt32.self)
                        target.storeBytes(of: pixel, toByteOffset: 4 * (y * ow + x), as: UInt32.self)
                        at += stepX
                    }
                }
            }
        }
        return RGBAImage(width: ow, height: oh, rgba: out, hadAlpha: hadAlpha)
    }
}
