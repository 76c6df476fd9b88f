import Diffusion
import Foundation
import Inversion
import Numerics

/// The generic concepts that profile the embedded model the paper's way (`profile model`): subjects the
/// UNet was trained on (never held-out ones), written as a benchmark folder inside the model folder,
/// so that an installed model carries them.
public enum GenericConcepts {
    public static let folderName = StableDiffusionPipeline.genericConceptsFolder
    /// The word every generic concept's vector starts from (one token; any subject is an object).
    public static let initWord = "object"

    /// Writes `count` of `subjects` (a seeded choice, in name order) into `folder`.
    public static func write(
        to folder: URL, subjects: [EmojiSubject], count: Int, generator: SceneGenerator, seed: UInt64 = 0x6E4E
    ) throws -> [BenchmarkSubject] {
        guard count >= 1, count <= subjects.count else {
            throw DatasetError("there are \(subjects.count) subjects to choose \(count) generic concepts from")
        }
        var random = RandomGenerator(seed: seed)
        let chosen = subjects.shuffled(using: &random).prefix(count).sorted { $0.name < $1.name }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var written: [BenchmarkSubject] = []
        for (index, subject) in chosen.enumerated() {
            let slug = subject.name.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
            let scenes = Benchmark.scenes(of: subject, seed: seed &+ 0x1000 &+ UInt64(index), generator: generator)
            written.append(
                try Benchmark.writeSubject(scenes, slug: slug, initWord: initWord, in: folder, side: generator.side))
        }
        try BenchmarkFile.write(written, to: folder)
        return written
    }
}
