import Diffusion
import Foundation
import Numerics

/// A smaller set of training subjects that look least alike. Many emoji are near twins at 32x32 (166
/// names contain "face", 31 "clock"); a small UNet given all of them sees each one rarely and draws
/// blends. The choice is greedy farthest-point sampling on the tiny CLIP's image embeddings of each
/// subject drawn alone, started from one subject per held-out initializer word, so that the UNet
/// still knows every word that textual inversion starts from.
public enum DistinctSubjects {
    /// Indices of `count` unit vectors: the `seeds` first (in order, each once), then each next one the
    /// least similar (by its highest cosine to any chosen one). Ties go to the lower index.
    public static func farthestPoints(_ embeddings: [[Float]], count: Int, seeds: [Int]) -> [Int] {
        precondition(seeds.allSatisfy(embeddings.indices.contains), "seeds must be indices of the embeddings")
        let count = min(count, embeddings.count)
        var chosen: [Int] = []
        var taken = [Bool](repeating: false, count: embeddings.count)
        var closestSimilarity = [Float](repeating: -.infinity, count: embeddings.count)
        func take(_ i: Int) {
            guard !taken[i] else { return }
            taken[i] = true
            chosen.append(i)
            for j in embeddings.indices where !taken[j] {
                closestSimilarity[j] = max(
                    closestSimilarity[j], zip(embeddings[i], embeddings[j]).reduce(0) { $0 + $1.0 * $1.1 })
            }
        }
        for i in seeds where chosen.count < count { take(i) }
        if chosen.isEmpty, count > 0 { take(0) }
        while chosen.count < count {
            var best = -1
            for j in embeddings.indices where !taken[j] && (best < 0 || closestSimilarity[j] < closestSimilarity[best])
            { best = j }
            take(best)
        }
        return chosen
    }

    /// For each word, a subject named by it: the shortest name that starts with the word ("dog face"
    /// rather than "hot dog"), else the shortest that has it as a whole word; nil when none has it.
    public static func namesakes(of words: [String], in subjects: [EmojiSubject]) -> [Int?] {
        let names = subjects.map { $0.name.split(whereSeparator: { !$0.isLetter }) }
        return words.map { word in
            func key(_ i: Int) -> (Int, Int, Int) {
                (names[i].first == Substring(word) ? 0 : 1, subjects[i].name.count, i)
            }
            return subjects.indices.filter { names[$0].contains { $0 == word } }.min { key($0) < key($1) }
        }
    }

    /// `count` distinct training subjects, in the order chosen, and the init words no subject is named by.
    public static func choose(count: Int, catalog: EmojiCatalog, vision: CLIPVisionModel) -> (
        subjects: [EmojiSubject], unnamedWords: [String]
    ) {
        let subjects = catalog.trainingSubjects
        let scenes = SceneGenerator(catalog: catalog, subjects: subjects, side: Recipe.imageSide)
        let alone = SceneLayout(
            scale: 0.8, x: 0.5, y: 0.5, background: Palette.colors.firstIndex { $0.name == "gray" }!, lower: nil)
        var embeddings: [[Float]] = []
        for start in stride(from: 0, to: subjects.count, by: 128) {
            embeddings += vision.embed(
                subjects[start..<min(subjects.count, start + 128)].map { scenes.render($0, layout: alone).image })
        }
        let words = HeldOutSubjects.all.map(\.initWord)
        let namesakes = namesakes(of: words, in: subjects)
        let chosen = farthestPoints(embeddings, count: count, seeds: namesakes.compactMap { $0 }).map { subjects[$0] }
        return (chosen, zip(words, namesakes).filter { $0.1 == nil }.map(\.0))
    }
}
