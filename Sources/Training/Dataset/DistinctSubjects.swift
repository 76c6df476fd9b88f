import Diffusion
import Foundation
import Numerics

/// A smaller set of training subjects that look least alike. Many emoji are near twins at 32x32 (166
/// names contain "face", 31 "clock"); a small UNet given all of them sees each one rarely and draws
/// blends. The choice is greedy farthest-point sampling on the tiny CLIP's image embeddings of each
/// subject drawn alone, started from one subject per held-out initializer word, so that the UNet
/// still knows every word that textual inversion starts from.
public enum DistinctSubjects {
    /// Indices of `count` points, `first` included in order, each next one the farthest (by cosine)
    /// from all chosen so far. Ties go to the lower index, so the choice is deterministic.
    public static func farthestPoints(_ embeddings: [[Float]], count: Int, first: [Int]) -> [Int] {
        precondition(first.allSatisfy(embeddings.indices.contains), "first points must be indices of the embeddings")
        let count = min(count, embeddings.count)
        var chosen: [Int] = [], taken = [Bool](repeating: false, count: embeddings.count)
        // The highest similarity of each point to any chosen point: the next pick has the lowest.
        var nearest = [Float](repeating: -.infinity, count: embeddings.count)
        func take(_ i: Int) {
            guard !taken[i] else { return }
            taken[i] = true
            chosen.append(i)
            for j in embeddings.indices where !taken[j] {
                nearest[j] = max(nearest[j], zip(embeddings[i], embeddings[j]).reduce(0) { $0 + $1.0 * $1.1 })
            }
        }
        for i in first where chosen.count < count { take(i) }
        if chosen.isEmpty, count > 0 { take(0) }
        while chosen.count < count {
            var best = -1
            for j in embeddings.indices where !taken[j] && (best < 0 || nearest[j] < nearest[best]) { best = j }
            take(best)
        }
        return chosen
    }

    /// For each word, a training subject named by it: the shortest name that starts with the word
    /// ("dog face" rather than "hot dog"), else the shortest that has it as a whole word.
    public static func namesakes(of words: [String], in subjects: [EmojiSubject]) -> [Int] {
        words.compactMap { word in
            func key(_ i: Int) -> (Int, Int, Int) {
                let words = subjects[i].name.split(whereSeparator: { !$0.isLetter })
                return (words.first == Substring(word) ? 0 : 1, subjects[i].name.count, i)
            }
            return subjects.indices.filter { subjects[$0].name.split(whereSeparator: { !$0.isLetter }).contains { $0 == word } }
                .min { key($0) < key($1) }
        }
    }

    /// `count` distinct training subjects, in the order chosen.
    public static func choose(count: Int, catalog: EmojiCatalog, vision: CLIPVisionModel) -> [EmojiSubject] {
        let subjects = catalog.trainingSubjects
        let scenes = SceneGenerator(catalog: catalog, subjects: subjects, side: Recipe.imageSide)
        let alone = SceneLayout(scale: 0.8, x: 0.5, y: 0.5, background: Palette.colors.firstIndex { $0.name == "gray" }!, lower: nil)
        var embeddings: [[Float]] = []
        for start in stride(from: 0, to: subjects.count, by: 128) {
            embeddings += vision.embed(subjects[start..<min(subjects.count, start + 128)].map { scenes.render($0, layout: alone).image })
        }
        let first = namesakes(of: HeldOutSubjects.all.map(\.initWord), in: subjects)
        return farthestPoints(embeddings, count: count, first: first).map { subjects[$0] }
    }
}
