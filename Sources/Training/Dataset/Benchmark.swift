import Foundation
import Inversion
import Numerics

/// gradti's built-in inversion benchmark: for each held-out subject, 5 concept images (different
/// scale, position and background), each with its caption file (`0.txt`: "a {} on a black background,
/// medium, bottom", the scene's caption with `{}` for the subject, which `concept` trains with), and the
/// prompts its inversions are evaluated with.
public enum Benchmark {
    public static let imagesPerSubject = 5

    /// The concept scenes of a held-out subject: distinct plain backgrounds, varied scale and place.
    public static func scenes(for entry: HeldOutSubjects.Entry, index: Int, generator: SceneGenerator) throws -> [Scene]
    {
        guard let subject = generator.catalog.subject(entry.codePoint) else {
            throw DatasetError(String(format: "U+%04X (%@) is not in the font", entry.codePoint, entry.slug))
        }
        return scenes(of: subject, seed: 0xBE7C_0000 &+ UInt64(index), generator: generator)
    }

    /// A subject's concept scenes drawn from `seed`.
    static func scenes(of subject: EmojiSubject, seed: UInt64, generator: SceneGenerator) -> [Scene] {
        var g = RandomGenerator(seed: seed)
        let backgrounds = Array(Palette.colors.indices).shuffled(using: &g).prefix(imagesPerSubject)
        return backgrounds.map { background in
            var layout = SceneLayout.random(using: &g, twoTone: 0)
            layout.background = background
            return generator.render(subject, layout: layout)
        }
    }

    /// A concept image's caption file: its scene's caption with `{}` for the subject, on one line.
    public static func conceptCaption(_ scene: Scene, side: Int) -> String {
        SceneGenerator.caption(naming: "{}", layout: scene.layout, side: side) + "\n"
    }

    /// Prompts on backgrounds the concept images do not use, so similarity rewards the subject,
    /// not the copied background.
    static func prompts(avoiding captions: [String]) -> [String] {
        let unused = Palette.colors.map(\.name).filter { name in
            !captions.contains { $0.contains(" \(name) background") }
        }
        return unused.prefix(4).map { "a {} on \(SceneGenerator.article($0)) \($0) background" }
    }

    /// Writes every subject's images and `subjects.json` into `folder`.
    public static func write(to folder: URL, generator: SceneGenerator) throws -> [BenchmarkSubject] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var subjects: [BenchmarkSubject] = []
        for (index, entry) in HeldOutSubjects.all.enumerated() {
            let scenes = try scenes(for: entry, index: index, generator: generator)
            subjects.append(
                try writeSubject(scenes, slug: entry.slug, initWord: entry.initWord, in: folder, side: generator.side))
        }
        try BenchmarkFile.write(subjects, to: folder)
        return subjects
    }

    /// Writes one subject's scenes (PNG and caption files) into `folder/slug`, and describes it.
    static func writeSubject(_ scenes: [Scene], slug: String, initWord: String, in folder: URL, side: Int) throws
        -> BenchmarkSubject
    {
        let sub = folder.appendingPathComponent(slug)
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        var files: [String] = []
        for (k, scene) in scenes.enumerated() {
            let name = "\(k).png"
            try scene.image.writePNG(to: sub.appendingPathComponent(name))
            try Data(conceptCaption(scene, side: side).utf8).write(to: sub.appendingPathComponent("\(k).txt"))
            files.append(name)
        }
        return BenchmarkSubject(
            slug: slug, codePoint: String(format: "U+%04X", scenes[0].subject.codePoint), name: scenes[0].subject.name,
            initWord: initWord, images: files, captions: scenes.map(\.caption),
            prompts: prompts(avoiding: scenes.map(\.caption)))
    }
}
