import Diffusion
import Foundation
import Graphics
import Inversion
import Numerics
import TestSupport
import Testing

@testable import Training

/// The Debian font that `.ci/setup` installs.
let font = Result { try ColorEmojiFont() }
let heldOutCatalog = Result { try EmojiCatalog(font: font.get(), only: Set(HeldOutSubjects.all.map(\.codePoint))) }
let repository = Fixtures.repository

@Suite struct ColorEmojiFontTests {
    @Test func readsTheBitmapsAndTheCmap() throws {
        let font = try font.get()
        #expect(font.codePoints.count > 1300)
        let crab = try font.bitmap(0x1F980)
        #expect(crab.width >= 100 && crab.height >= 100 && crab.hadAlpha)
        // Transparent corners, an opaque middle.
        #expect(crab.rgba[3] == 0 && crab.rgba[4 * (crab.height / 2 * crab.width + crab.width / 2) + 3] == 255)
        #expect(throws: DatasetError.self) { try font.bitmap(0x41) }
    }

    @Test func aTruncatedOrWrongFileIsAClearError() throws {
        let data = try #require(FileManager.default.contents(atPath: ColorEmojiFont.defaultPath))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-font-\(UUID()).ttf")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try data.prefix(2000).write(to: scratch)
        #expect { try ColorEmojiFont(path: scratch.path) } throws: {
            String(describing: $0).contains("outside the file") || String(describing: $0).contains("truncated")
        }
        let dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
        if FileManager.default.fileExists(atPath: dejavu) {
            #expect { try ColorEmojiFont(path: dejavu) } throws: { String(describing: $0).contains("not a CBDT") }
        }
        #expect { try ColorEmojiFont(path: "/no/such/font.ttf") } throws: {
            String(describing: $0).contains("fonts-noto-color-emoji")
        }
    }
}

@Suite struct EmojiSceneTests {
    @Test func scenesAreDeterministicAndCaptioned() throws {
        let catalog = try heldOutCatalog.get()
        #expect(catalog.subjects.count == 30 && catalog.trainingSubjects.isEmpty)
        let generator = SceneGenerator(catalog: catalog, subjects: catalog.subjects, seed: 7)
        let a = generator.scene(3)
        let b = generator.scene(3)
        let c = generator.scene(4)
        #expect(a.image == b.image && a.caption == b.caption)
        #expect(a.image != c.image)
        #expect(a.image.width == 32 && a.image.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(a.caption.contains(a.subject.name) && a.caption.contains(" background, "))
        // The emoji covers part of the picture: not every pixel is a background colour.
        let backgrounds = Set(Palette.colors.map { [$0.rgb.0, $0.rgb.1, $0.rgb.2] })
        let plane = 32 * 32
        let covered = (0..<plane).filter {
            !backgrounds.contains([a.image.pixels[$0], a.image.pixels[plane + $0], a.image.pixels[2 * plane + $0]])
        }
        #expect(covered.count > plane / 10)
    }

    /// The committed benchmark (images and caption files) is what `gradti dataset benchmark` makes from the font.
    @Test func theCommittedBenchmarkIsReproducible() throws {
        let catalog = try heldOutCatalog.get()
        let folder = repository.appendingPathComponent("data/emoji-benchmark")
        let subjects = try BenchmarkFile.read(folder)
        #expect(
            subjects.map(\.slug) == HeldOutSubjects.all.map(\.slug)
                && subjects.map(\.initWord) == HeldOutSubjects.all.map(\.initWord))
        let generator = SceneGenerator(catalog: catalog, subjects: catalog.subjects)
        for (index, entry) in HeldOutSubjects.all.enumerated() {
            let scenes = try Benchmark.scenes(for: entry, index: index, generator: generator)
            #expect(
                Set(scenes.map { $0.caption.components(separatedBy: " background")[0] }).count == 5,
                "distinct backgrounds")
            for (k, scene) in scenes.enumerated() {
                let committed = try Image.read(folder.appendingPathComponent("\(entry.slug)/\(k).png"))
                #expect(committed.rgb8 == scene.image.rgb8, "\(entry.slug)/\(k).png differs")
                let caption = try String(
                    contentsOf: folder.appendingPathComponent("\(entry.slug)/\(k).txt"), encoding: .utf8)
                #expect(
                    caption == Benchmark.conceptCaption(scene, side: 32) && caption.hasPrefix("a {} on "),
                    "\(entry.slug)/\(k).txt differs")
            }
            #expect(
                subjects[index].prompts.allSatisfy { prompt in
                    !subjects[index].captions.contains { $0.contains(prompt.components(separatedBy: "{} ")[1]) }
                })
        }
    }
}

@Suite struct HeldOutSubjectTests {
    @Test func initWordsAreOneCLIPToken() throws {
        let tokenizer = try CLIPTokenizer(
            folder: repository.appendingPathComponent("Tests/DiffusionTests/Fixtures/sd-tiny/pipeline/tokenizer"))
        for entry in HeldOutSubjects.all { #expect(tokenizer.tokenize(entry.initWord).count == 1, "\(entry.initWord)") }
        #expect(
            Set(HeldOutSubjects.all.map(\.slug)).count == 30 && Set(HeldOutSubjects.all.map(\.codePoint)).count == 30)
    }
}

@Suite struct InitWordTests {
    /// Each init word names at least one training subject, so the UNet has seen it in captions.
    @Test func initWordsAppearInTrainingCaptions() throws {
        let held = Set(HeldOutSubjects.all.map(\.codePoint))
        let training = EmojiCatalog.subjects(in: try font.get()).filter { !held.contains($0.codePoint) }
        let words = Set(training.flatMap { $0.name.split(separator: " ").map(String.init) })
        for entry in HeldOutSubjects.all { #expect(words.contains(entry.initWord), "\(entry.slug): \(entry.initWord)") }
    }
}
