import CWebP
import Foundation

/// WebP decoding through libwebp (lossy and lossless, with alpha); its EXIF chunk, when present, gives
/// the orientation.
public enum WebP {
    public static func isWebP(_ data: Data) -> Bool {
        data.count >= 12 && data.prefix(4).elementsEqual("RIFF".utf8)
            && data[(data.startIndex + 8)..<(data.startIndex + 12)].elementsEqual("WEBP".utf8)
    }

    public static func decode(
        _ data: Data, source: String, maxPixels: Int = ImageFile.maxPixels
    ) throws -> RGBAImage {
        var (width, height): (Int32, Int32) = (0, 0)
        let known = data.withUnsafeBytes { bytes in
            WebPGetInfo(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, &width, &height)
        }
        guard known != 0 else { throw ImageFileError("\(source): a damaged WebP (its header cannot be read)") }
        try ImageFile.checkSize(Int(width), Int(height), format: "WebP", source: source, maxPixels: maxPixels)
        var features = WebPBitstreamFeatures()
        let parsed = data.withUnsafeBytes { bytes in
            WebPGetFeatures(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, &features)
        }
        guard parsed == VP8_STATUS_OK else { throw ImageFileError("\(source): a damaged WebP (status \(parsed))") }
        if features.has_animation != 0 {
            throw ImageFileError("\(source): an animated WebP; gradti reads still images (save one frame)")
        }
        let decoded = data.withUnsafeBytes { bytes in
            WebPDecodeRGBA(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, &width, &height)
        }
        guard let decoded else { throw ImageFileError("\(source): a damaged WebP (its image data cannot be decoded)") }
        defer { WebPFree(decoded) }
        let count = Int(width) * Int(height) * 4
        return RGBAImage(
            width: Int(width), height: Int(height), rgba: Array(UnsafeBufferPointer(start: decoded, count: count)),
            hadAlpha: features.has_alpha != 0)
    }

    /// The payload of the file's EXIF chunk (a TIFF structure), if it has one.
    static func exif(_ data: Data) -> Data? {
        let bytes = [UInt8](data)
        var i = 12
        while i + 8 <= bytes.count {
            let size = Int(bytes[i + 4]) | Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]) << 16 | Int(bytes[i + 7]) << 24
            guard size >= 0, i + 8 + size <= bytes.count else { return nil }
            if bytes[i..<(i + 4)].elementsEqual("EXIF".utf8) {
                let payload = bytes[(i + 8)..<(i + 8 + size)]
                // Some writers keep JPEG's "Exif\0\0" prefix.
                return Data(payload.starts(with: Array("Exif\0\0".utf8)) ? payload.dropFirst(6) : payload)
            }
            i += 8 + size + (size & 1)
        }
        return nil
    }
}
