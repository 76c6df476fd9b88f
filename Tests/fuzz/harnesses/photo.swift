// Photos as they come (Graphics.ImageFile.decode): JPEG through libjpeg-turbo's TurboJPEG API, WebP
// through libwebp, PNG through the C codec, with gradti's own parsing of JPEG marker segments, WebP's
// RIFF chunks and the EXIF orientation, then turning the image upright.
//
// Input: the file's bytes. Coverage: the Swift side (format sniffing, marker and chunk scanning, EXIF,
// orientation, CMYK conversion) is instrumented; libjpeg-turbo and libwebp are the system's shared
// libraries, not instrumented (their crashes are still caught).
//
// Properties: a decoded image has width × height × 4 bytes, sides of 1 to 16384 and at most the
// pixels asked for; composited pixels are finite and in 0...1; every orientation keeps the pixel count
// and swaps the sides exactly for 5 to 8.
import Foundation
import Graphics
import Numerics

func setUp() {}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPhoto(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    // A 255-byte JPEG may declare 80 megapixels, legitimately; decoding and turning that many pixels
    // takes seconds under the sanitizer, so inputs are held to 4 megapixels (the limit's own check
    // is exercised all the same).
    guard let image = try? ImageFile.decode(bytes, source: "fuzz input", maxPixels: 1 << 22) else { return 0 }
    require(
        (1...ImageFile.maxSide).contains(image.width) && (1...ImageFile.maxSide).contains(image.height),
        "decoded a \(image.width)x\(image.height) image")
    require(image.width * image.height <= 1 << 22, "decoded \(image.width)x\(image.height), above the limit")
    require(
        image.rgba.count == image.width * image.height * 4,
        "\(image.rgba.count) bytes for a \(image.width)x\(image.height) RGBA image")
    guard image.width * image.height <= 1 << 14 else { return 0 }
    let composited = image.composited()
    require(composited.pixels.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 }, "composited pixels outside 0...1")
    for value in 1...8 {
        let turned = image.oriented(value)
        let sides = value >= 5 ? (image.height, image.width) : (image.width, image.height)
        require(
            (turned.width, turned.height) == sides && turned.rgba.count == image.rgba.count,
            "orientation \(value) gave \(turned.width)x\(turned.height)")
    }
    return 0
}
