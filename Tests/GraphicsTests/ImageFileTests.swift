import Foundation
import TestSupport
import Testing

@testable import Graphics

/// JPEG and WebP as they come, against what Pillow decodes from the same files
/// (`Fixtures/images/make_images.py`).
@Suite struct ImageFileTests {
    struct Entry: Decodable {
        let file: String
        let width: Int
        let height: Int
        let note: String
    }

    static let folder = "GraphicsTests/Fixtures/images/"

    static func entries() throws -> [Entry] {
        try JSONDecoder().decode([Entry].self, from: Fixtures.data(folder + "manifest.json"))
    }

    /// Every variant decodes to Pillow's pixels: exactly for lossless files, within libjpeg-turbo's
    /// rounding elsewhere (Pillow bundles another version).
    @Test func everyVariantMatchesPillow() throws {
        let entries = try Self.entries()
        #expect(entries.count == 17)
        for entry in entries {
            let image = try ImageFile.read(try Fixtures.url(Self.folder + entry.file))
            let expected = [UInt8](
                try Fixtures.data(Self.folder + (entry.file as NSString).deletingPathExtension + ".rgba"))
            #expect(image.width == entry.width && image.height == entry.height, "\(entry.file): \(entry.note)")
            guard image.rgba.count == expected.count else { continue }
            let differences = zip(image.rgba, expected).map { abs(Int($0) - Int($1)) }
            let worst = differences.max() ?? 0
            let mean = Double(differences.reduce(0, +)) / Double(differences.count)
            let lossless = entry.file.hasSuffix(".webp") && entry.note.contains("lossless")
            #expect(
                lossless ? worst == 0 : worst <= 3 && mean < 0.5,
                "\(entry.file) (\(entry.note)): worst \(worst), mean \(mean)")
        }
    }

    /// All eight EXIF orientations come out upright: the same picture, whatever the file stored.
    @Test func exifOrientationsTurnUpright() throws {
        let upright = try ImageFile.read(try Fixtures.url(Self.folder + "orientation-1.jpg"))
        for orientation in 2...8 {
            let image = try ImageFile.read(try Fixtures.url(Self.folder + "orientation-\(orientation).jpg"))
            let expected = [UInt8](try Fixtures.data(Self.folder + "orientation-\(orientation).rgba"))
            #expect(image.rgba == expected || zip(image.rgba, expected).allSatisfy { abs(Int($0) - Int($1)) <= 3 })
            // Orientations 5 to 8 swap the sides.
            #expect(
                (image.width, image.height)
                    == (orientation >= 5 ? (upright.height, upright.width) : (upright.width, upright.height)))
        }
        let webp = try ImageFile.read(try Fixtures.url(Self.folder + "exif-6.webp"))
        #expect(webp.width == 14 && webp.height == 23)
    }

    /// Bad files say what they are and why they are refused.
    @Test func badFilesAreClearErrors() throws {
        func message(_ name: String) -> String {
            do {
                _ = try ImageFile.read(try Fixtures.url(Self.folder + name))
                return "read"
            } catch { return String(describing: error) }
        }
        #expect(message("truncated.jpg").contains("truncated"))
        #expect(
            message("picture.gif").contains("is a GIF file") && message("picture.gif").contains("PNG, JPEG and WebP"))
        #expect(message("manifest.json").contains("not an image"))
        let cut = try Fixtures.data(Self.folder + "lossy.webp").prefix(40)
        #expect(throws: ImageFileError.self) { try ImageFile.decode(Data(cut), source: "cut.webp") }
        // A header that declares a huge image is refused before anything is allocated.
        var huge = [UInt8](try Fixtures.data(Self.folder + "baseline-444.jpg"))
        if let sof = (0..<(huge.count - 8)).first(where: { huge[$0] == 0xFF && huge[$0 + 1] == 0xC0 }) {
            (huge[sof + 5], huge[sof + 6]) = (0x4E, 0x20)  // 20,000 pixels high
            (huge[sof + 7], huge[sof + 8]) = (0x4E, 0x20)  // and wide
        }
        #expect { try ImageFile.decode(Data(huge), source: "huge.jpg") } throws: {
            String(describing: $0).contains("huge.jpg: the JPEG declares 20000x20000 pixels")
        }
    }

    /// Concept images are prepared as diffusers' textual-inversion script prepares them: the centre
    /// square, then Pillow's bicubic resize (antialiased when shrinking), to within a level.
    @Test(arguments: [32, 20, 100])
    func preparationMatchesPillow(size: Int) throws {
        let image = try Image.read(try Fixtures.url(Self.folder + "scene-96x64.png")).prepared(size: size)
        let expected = [UInt8](try Fixtures.data(Self.folder + "prepared-\(size).rgba"))
        #expect(image.width == size && image.height == size)
        let plane = size * size
        var worst = 0
        for i in 0..<plane {
            for c in 0..<3 {
                let ours = Int((image.pixels[c * plane + i] * 255).rounded())
                worst = max(worst, abs(ours - Int(expected[4 * i + c])))
            }
        }
        #expect(worst <= 1, "worst difference \(worst) levels at \(size)x\(size)")
    }

    /// Stray bytes before a marker (common in camera files) are a warning, not an error, as in Pillow;
    /// a header that declares more than Pillow's 89 megapixels is refused before anything is allocated.
    @Test func cameraQuirksAndGiantHeaders() throws {
        let original = [UInt8](try Fixtures.data(Self.folder + "orientation-3.jpg"))
        let dqt = try #require((2..<(original.count - 1)).first { original[$0] == 0xFF && original[$0 + 1] == 0xDB })
        let stray = Array(original[..<dqt]) + [0x00, 0x00] + Array(original[dqt...])
        let decoded = try ImageFile.decode(Data(stray), source: "stray.jpg")
        #expect(decoded.rgba == (try ImageFile.decode(Data(original), source: "original.jpg")).rgba)
        var giant = original
        if let sof = (0..<(giant.count - 8)).first(where: { giant[$0] == 0xFF && giant[$0 + 1] == 0xC0 }) {
            (giant[sof + 5], giant[sof + 6], giant[sof + 7], giant[sof + 8]) = (0x40, 0x00, 0x40, 0x00)
        }
        #expect { try ImageFile.decode(Data(giant), source: "giant.jpg") } throws: {
            String(describing: $0).contains("16384x16384") && String(describing: $0).contains("89 megapixels")
        }
        // A caller's own, lower limit holds for every format, read from the header alone.
        for name in ["orientation-3.jpg", "lossless-alpha.webp"] {
            let data = try Fixtures.data(Self.folder + name)
            #expect { try ImageFile.decode(data, source: name, maxPixels: 100) } throws: {
                String(describing: $0).contains("at most 100 pixels")
            }
        }
        let png = try PNG.encode(rgb: [UInt8](repeating: 7, count: 11 * 10 * 3), width: 11, height: 10)
        #expect { try ImageFile.decode(png, source: "small.png", maxPixels: 100) } throws: {
            String(describing: $0).contains("11x10") && String(describing: $0).contains("at most 100 pixels")
        }
        #expect(try ImageFile.decode(png, source: "small.png", maxPixels: 110).width == 11)
    }

    @Test func transparencyIsCompositedOverTheBackground() throws {
        let url = try Fixtures.url(Self.folder + "lossless-alpha.webp")
        let decoded = try ImageFile.read(url)
        let alpha = Float(decoded.rgba[3]) / 255
        #expect(decoded.hadAlpha && alpha < 0.1)
        let white = try Image.read(url)
        let black = try Image.read(url, background: (0, 0, 0))
        // The first pixel is nearly transparent: mostly the background shows.
        let red = Float(decoded.rgba[0]) / 255
        #expect(abs(white.pixels[0] - (alpha * red + 1 - alpha)) < 1e-6)
        #expect(abs(black.pixels[0] - alpha * red) < 1e-6)
    }
}
