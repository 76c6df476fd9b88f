import CPNGCodec
import Foundation
import Numerics

public struct PNGError: Error, CustomStringConvertible {
    public let description: String
}

/// PNG decoding and encoding through libpng.
public enum PNG {
    public static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]
    /// Larger files are refused before they are read: photos are megabytes, not gigabytes.
    public static let maxFileBytes = 512 << 20

    /// What bytes that do not start with PNG's signature are, for errors: people often have JPEGs.
    public static func notPNG(_ data: Data) -> String {
        let head = Array(data.prefix(12))
        let kind: String
        if head.starts(with: [0xFF, 0xD8, 0xFF]) {
            kind = "a JPEG"
        } else if head.starts(with: Array("GIF8".utf8)) {
            kind = "a GIF"
        } else if head.starts(with: Array("RIFF".utf8)) && head.count == 12 && head[8..<12].elementsEqual("WEBP".utf8) {
            kind = "a WebP"
        } else {
            return "not a PNG file (no PNG signature)"
        }
        return "\(kind) file, not a PNG (`ImageFile` reads PNG, JPEG and WebP)"
    }

    /// Decodes PNG bytes of any colour type and depth into an RGBA image; `source` names the data in errors.
    /// A header declaring more than `maxPixels` is refused before anything is decoded.
    public static func decode(
        _ data: Data, source: String, maxPixels: Int = ImageFile.maxPixels
    ) throws -> RGBAImage {
        guard data.starts(with: signature) else { throw PNGError(description: "\(source): \(notPNG(data))") }
        // The declared size, said plainly (libpng would only say "Invalid IHDR data").
        if data.count >= 24, data[data.startIndex + 12..<data.startIndex + 16].elementsEqual("IHDR".utf8) {
            let field = { (at: Int) in
                data[(data.startIndex + at)..<(data.startIndex + at + 4)].reduce(0) { $0 << 8 | Int($1) }
            }
            let (width, height) = (field(16), field(20))
            if let problem = ImageFile.sizeProblem(width, height, format: "PNG", maxPixels: maxPixels) {
                throw PNGError(description: "\(source): \(problem)")
            }
        }
        var image = png_codec_image()
        let status = data.withUnsafeBytes { bytes in
            png_codec_decode(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, &image)
        }
        guard status == 0, let pixels = image.rgba else {
            let why = withUnsafeBytes(of: image.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw PNGError(description: "\(source): \(why)")
        }
        defer { png_codec_free(pixels) }
        let count = Int(image.width) * Int(image.height) * 4
        return RGBAImage(
            width: Int(image.width), height: Int(image.height),
            rgba: Array(UnsafeBufferPointer(start: pixels, count: count)), hadAlpha: image.had_alpha != 0)
    }

    public static func read(_ url: URL) throws -> RGBAImage {
        let data: Data
        do { data = try FileAccess.read(url, limit: maxFileBytes) } catch {
            throw PNGError(description: String(describing: error))
        }
        return try decode(data, source: displayPath(url))
    }

    /// Encodes 8-bit RGB pixels (row-major, 3 bytes a pixel) as PNG bytes.
    public static func encode(rgb: [UInt8], width: Int, height: Int) throws -> Data {
        guard rgb.count == width * height * 3 else {
            throw PNGError(description: "\(rgb.count) bytes are not a \(width)x\(height) RGB image")
        }
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var error = [CChar](repeating: 0, count: 256)
        let status = rgb.withUnsafeBufferPointer { pixels in
            error.withUnsafeMutableBufferPointer { message in
                png_codec_encode_rgb(
                    pixels.baseAddress, Int32(width), Int32(height), &output, &size, message.baseAddress)
            }
        }
        guard status == 0, let output else {
            throw PNGError(
                description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { png_codec_free(output) }
        return Data(bytes: output, count: size)
    }
}

/// 8-bit RGBA pixels as decoded from a file.
public struct RGBAImage: Sendable {
    public var width: Int
    public var height: Int
    public var rgba: [UInt8]
    public var hadAlpha: Bool

    /// The image over a background colour (components in 0...1), as planar RGB in 0...1.
    public func composited(over background: (Float, Float, Float) = (1, 1, 1)) -> Image {
        var image = Image(width: width, height: height)
        let plane = width * height
        let back = [background.0, background.1, background.2]
        image.pixels.withUnsafeMutableBufferPointer { out in
            for i in 0..<plane {
                let alpha = Float(rgba[4 * i + 3]) / 255
                for c in 0..<3 {
                    out[c * plane + i] = alpha * Float(rgba[4 * i + c]) / 255 + (1 - alpha) * back[c]
                }
            }
        }
        return image
    }
}
