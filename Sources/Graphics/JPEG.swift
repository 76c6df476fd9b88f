import CTurboJPEG
import Foundation

/// JPEG decoding through libjpeg-turbo's TurboJPEG API, with libjpeg's default (accurate) DCT and
/// smooth chroma upsampling, as Pillow decodes. Baseline and progressive, any chroma subsampling,
/// grayscale, RGB stored without YCbCr, and CMYK/YCCK (Adobe's inverted convention when the file
/// carries Adobe's marker, as Photoshop writes it).
public enum JPEG {
    public static let signature: [UInt8] = [0xFF, 0xD8, 0xFF]

    public static func decode(
        _ data: Data, source: String, maxPixels: Int = ImageFile.maxPixels
    ) throws -> RGBAImage {
        guard let handle = tjInitDecompress() else { throw ImageFileError("\(source): cannot start the JPEG decoder") }
        defer { tjDestroy(handle) }
        func failure(_ what: String) -> ImageFileError {
            let reason = String(cString: tjGetErrorStr2(handle))
            return ImageFileError("\(source): \(what) (libjpeg-turbo: \(reason))")
        }
        var (width, height, subsampling, colorspace): (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
        let header = data.withUnsafeBytes { bytes in
            tjDecompressHeader3(
                handle, bytes.bindMemory(to: UInt8.self).baseAddress, UInt(bytes.count), &width, &height,
                &subsampling, &colorspace)
        }
        // libjpeg-turbo 2 reports a warning here too (stray bytes before a marker, common in camera
        // files) while it has read the size: only errors are refused.
        guard header == 0 || (tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) && width > 0 && height > 0)
        else { throw failure("not a readable JPEG") }
        try ImageFile.checkSize(Int(width), Int(height), format: "JPEG", source: source, maxPixels: maxPixels)
        let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let gray = colorspace == Int32(TJCS_GRAY.rawValue)
        let (format, channels) =
            cmyk ? (TJPF_CMYK, 4) : gray ? (TJPF_GRAY, 1) : (TJPF_RGB, 3)
        let (w, h) = (Int(width), Int(height))
        var pixels = [UInt8](repeating: 0, count: w * h * channels)
        let status = data.withUnsafeBytes { bytes in
            pixels.withUnsafeMutableBufferPointer { out in
                tjDecompress2(
                    handle, bytes.bindMemory(to: UInt8.self).baseAddress, UInt(bytes.count), out.baseAddress,
                    width, 0, height, Int32(format.rawValue), 0)
            }
        }
        if status != 0 {
            // Warnings (stray bytes between markers, common in camera files) leave a whole image; a file
            // cut short does not.
            let reason = String(cString: tjGetErrorStr2(handle))
            if tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) || reason.contains("Premature end") {
                throw ImageFileError(
                    "\(source): a damaged JPEG (\(reason.contains("Premature end") ? "truncated" : reason))")
            }
        }
        var rgba = [UInt8](repeating: 255, count: w * h * 4)
        pixels.withUnsafeBufferPointer { from in
            rgba.withUnsafeMutableBufferPointer { to in
                if cmyk {
                    // Stored inverted, as Photoshop (Adobe's marker) writes CMYK and as Pillow reads every
                    // CMYK JPEG: R = C·K / 255.
                    for i in 0..<(w * h) {
                        let k = Int(from[4 * i + 3])
                        for c in 0..<3 { to[4 * i + c] = UInt8((Int(from[4 * i + c]) * k + 127) / 255) }
                    }
                } else {
                    for i in 0..<(w * h) {
                        for c in 0..<3 { to[4 * i + c] = from[channels * i + (gray ? 0 : c)] }
                    }
                }
            }
        }
        return RGBAImage(width: w, height: h, rgba: rgba, hadAlpha: false)
    }
}

/// The marker segments of a JPEG before its image data: EXIF (APP1).
struct JPEGMarkers {
    var exif: Data?

    init(_ data: Data) {
        let bytes = [UInt8](data.prefix(1 << 20))
        var i = 2
        while i + 4 <= bytes.count {
            // Junk between segments is skipped, as libjpeg skips it, up to the next marker.
            guard bytes[i] == 0xFF else {
                i += 1
                continue
            }
            let marker = bytes[i + 1]
            if marker == 0xFF {
                i += 1
                continue
            }
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) {
                i += 2
                continue
            }
            if marker == 0xDA || marker == 0xD9 { return }  // image data or the end: no more headers
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length >= 2, i + 2 + length <= bytes.count else { return }
            let segment = bytes[(i + 4)..<(i + 2 + length)]
            if marker == 0xE1, exif == nil, segment.starts(with: Array("Exif\0\0".utf8)) {
                exif = Data(segment.dropFirst(6))
            }
            i += 2 + length
        }
    }
}
