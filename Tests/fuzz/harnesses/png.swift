// PNG decoding (Numerics.PNG.decode over the C codec Sources/CPNGCodec and the system's libpng),
// then what gradti does with a decoded image: compositing over white and preparing it for the
// model (centre square, resize).
//
// Input: the file's bytes. Coverage: the Swift wrapper and png_codec.c are instrumented; libpng
// and zlib are the system's shared libraries, not instrumented, so the fuzzer gets no guidance
// inside them (their crashes are still caught).
//
// Properties: a decoded image has width × height × 4 bytes; composited pixels are finite and in
// 0...1; a small image's RGB survives encode → decode unchanged.
import Foundation
import Graphics
import Numerics

func setUp() {}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    guard let image = try? PNG.decode(bytes, source: "fuzz input") else { return 0 }
    require(image.width > 0 && image.height > 0, "decoded a \(image.width)x\(image.height) image")
    require(
        image.rgba.count == image.width * image.height * 4,
        "\(image.rgba.count) bytes for a \(image.width)x\(image.height) RGBA image")
    // Larger images (up to the codec's 16384 a side) are decoded above but not processed further:
    // the properties below cost time proportional to the pixels.
    guard image.width * image.height <= 1 << 16 else { return 0 }
    let composited = image.composited()
    require(
        composited.pixels.count == 3 * image.width * image.height, "composited to \(composited.pixels.count) values")
    require(composited.pixels.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 }, "composited pixels outside 0...1")
    let prepared = composited.prepared(size: 32)
    require(
        prepared.width == 32 && prepared.height == 32 && prepared.pixels.count == 3 * 32 * 32,
        "prepared to \(prepared.width)x\(prepared.height) with \(prepared.pixels.count) values")

    var rgb: [UInt8] = []
    rgb.reserveCapacity(image.width * image.height * 3)
    for i in 0..<(image.width * image.height) { rgb += image.rgba[(4 * i)..<(4 * i + 3)] }
    do {
        let encoded = try PNG.encode(rgb: rgb, width: image.width, height: image.height)
        let back = try PNG.decode(encoded, source: "re-encoded fuzz input")
        require(back.width == image.width && back.height == image.height, "encode → decode changed the size")
        var same = true
        for i in 0..<(image.width * image.height) where same {
            same =
                back.rgba[4 * i] == rgb[3 * i] && back.rgba[4 * i + 1] == rgb[3 * i + 1]
                && back.rgba[4 * i + 2] == rgb[3 * i + 2] && back.rgba[4 * i + 3] == 255
        }
        require(same, "encode → decode changed the pixels")
    } catch {
        require(false, "a decoded image does not survive encode → decode: \(error)")
    }
    return 0
}
