import Foundation
import Graphics
import TestSupport
import Testing

@testable import Numerics

@Suite struct PNGTests {
    static let folder = Fixtures.tests.appendingPathComponent("GraphicsTests/Fixtures/png")

    @Test(arguments: ["gray8.png", "gray1.png", "graya8.png", "rgb8.png", "rgba8.png", "palette.png", "rgb16.png"])
    func decodesEveryColourType(name: String) throws {
        let expected = try JSONDecoder().decode(
            [String: [[UInt8]]].self,
            from: Data(contentsOf: Self.folder.appendingPathComponent("expected.json")))
        let image = try PNG.read(Self.folder.appendingPathComponent(name))
        #expect(image.rgba == expected[name]!.flatMap { $0 })
        #expect(image.width * image.height == expected[name]!.count)
    }

    @Test(arguments: [("truncated.png", "truncated"), ("not-a-png.png", "not a PNG"), ("missing.png", "cannot read")])
    func badFilesGiveAClearError(name: String, expected: String) {
        #expect {
            try PNG.read(Self.folder.appendingPathComponent(name))
        } throws: { error in
            let text = String(describing: error)
            return text.contains(name) && text.contains(expected)
        }
    }

    @Test(arguments: [
        ([0xFF, 0xD8, 0xFF, 0xE0, 0, 16] as [UInt8], "a JPEG file, not a PNG"), (Array("GIF89a..".utf8), "a GIF file"),
        (Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8), "a WebP file"), (Array("hello, world".utf8), "not a PNG file")
    ])
    func otherFormatsAreNamed(bytes: [UInt8], expected: String) {
        #expect { try PNG.decode(Data(bytes), source: "photo") } throws: { error in
            String(describing: error).hasPrefix("photo: \(expected)")
        }
    }

    @Test func randomBytesNeverCrash() {
        var generator = RandomGenerator(seed: 11)
        let header: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]
        for length in [0, 8, 20, 64, 500] {
            let bytes = header + (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            #expect(throws: PNGError.self) { try PNG.decode(Data(bytes), source: "random") }
        }
    }

    @Test func writesWhatItReads() throws {
        var generator = RandomGenerator(seed: 2)
        let rgb = (0..<(5 * 3 * 3)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let decoded = try PNG.decode(PNG.encode(rgb: rgb, width: 5, height: 3), source: "memory")
        #expect(decoded.width == 5 && decoded.height == 3 && !decoded.hadAlpha)
        let back = (0..<15).flatMap { decoded.rgba[(4 * $0)..<(4 * $0 + 3)] }
        #expect(back == rgb)
    }
}

@Suite struct ImageTests {
    func ramp(_ width: Int, _ height: Int) -> Image {
        Image(
            width: width, height: height,
            pixels: (0..<(3 * width * height)).map { Float($0 % (width * height)) / Float(width * height) })
    }

    @Test func areaShrinkAveragesExactly() {
        let image = ramp(4, 4)
        let half = image.resized(width: 2, height: 2, filter: .area)
        // Top-left target pixel: mean of source pixels 0, 1, 4, 5 (of 16).
        let expected: Float = (0 + 1 + 4 + 5) / 4 / 16
        #expect(abs(half.pixels[0] - expected) < 1e-6)
        let third = ramp(6, 3).resized(width: 4, height: 2, filter: .area)
        // Fractional coverage: the mean is preserved.
        let targetMean: Float = third.pixels[0..<8].reduce(0, +) / 8
        let sourceMean: Float = ramp(6, 3).pixels[0..<18].reduce(0, +) / 18
        #expect(abs(targetMean - sourceMean) < 1e-5)
    }

    @Test func bilinearKeepsConstantsAndInterpolatesCentres() {
        let constant = Image(width: 3, height: 2, pixels: [Float](repeating: 0.25, count: 18))
        #expect(constant.resized(width: 7, height: 5, filter: .bilinear).pixels.allSatisfy { abs($0 - 0.25) < 1e-6 })
        let pair = Image(width: 2, height: 1, pixels: [0, 1, 0, 1, 0, 1])
        let up = pair.resized(width: 4, height: 1, filter: .bilinear)
        let rounded: [Float] = up.pixels[0..<4].map { ($0 * 100).rounded() / 100 }
        #expect(rounded == [0, 0.25, 0.75, 1])
    }

    @Test func centerCropPrepareFlipAndTensorRoundTrip() throws {
        let wide = ramp(6, 4)
        let square = wide.centerSquare()
        #expect(square.width == 4 && square.height == 4)
        #expect(square.pixels[0] == wide.pixels[1])
        #expect(wide.prepared(size: 2).width == 2)
        #expect(wide.flippedHorizontally().flippedHorizontally() == wide)
        let t = square.tensor()
        #expect(t.shape == [1, 3, 4, 4])
        #expect(Image(tensor: t).pixels.enumerated().allSatisfy { abs($0.element - square.pixels[$0.offset]) < 1e-6 })
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-image-\(UUID()).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try square.writePNG(to: url)
        let back = try Image.read(url)
        #expect(back.pixels.enumerated().allSatisfy { abs($0.element - square.pixels[$0.offset]) <= 0.5 / 255 + 1e-6 })
    }

    @Test func transparencyIsCompositedOverTheBackground() throws {
        let rgba = try PNG.read(PNGTests.folder.appendingPathComponent("rgba8.png"))
        let image = rgba.composited(over: (0, 0, 0))
        // Second pixel is fully transparent: the background shows.
        #expect(image.pixels[1] == 0 && image.pixels[3] == 0 && image.pixels[5] == 0)
        let expected: Float = 4.0 / 255 * 1.0 / 255
        #expect(abs(image.pixels[0] - expected) < 1e-6)
    }
}
