import Diffusion
import Foundation
import Graphics
import Numerics

/// Does the UNet draw the subject it is asked for? For captions of the UNet's training subjects, each
/// generation is scored by the tiny CLIP against the same caption with every training subject put
/// in (the layout words fixed, only the subject varies); it counts when its own subject ranks in
/// the top k. It is counted among all training subjects of the catalog, among those the UNet was
/// trained on (the same unless it was trained on a chosen list), and among the subjects of the
/// evaluated captions only (as CLIP's retrieval is counted among 100 scenes). The same scoring of the real
/// scenes of those captions is each count's ceiling: what a UNet that drew every scene perfectly
/// would get from this evaluator.
public enum GenerationQuality {
    public struct Counts {
        /// Own subject in the top k among all training subjects of the catalog, among the UNet's own, and
        /// among the evaluated ones.
        public var amongAll = 0.0, amongTrained = 0.0, amongEvaluated = 0.0
    }

    public struct Result {
        public var generated: Counts
        /// The same for the real scenes of the captions.
        public var scenes: Counts
        /// Distinct subjects among the evaluated captions.
        public var evaluatedSubjects: Int
        public var k: Int
        public var images: [Image]
        /// The real scenes of the same captions, for showing beside the generations.
        public var sceneImages: [Image]
        public var captions: [String]
        public var subjects: [EmojiSubject]

        /// Up to `rows` full rows of `columns` generations, each row above the real scenes of the same
        /// captions, labelled with the subjects' names: the grid to judge the UNet by eye.
        public func comparisonGrid(rows: Int = 4, columns: Int = 8) -> Image {
            precondition(
                sceneImages.count == images.count && subjects.count == images.count,
                "one scene and subject per generation")
            let columns = max(1, min(columns, images.count))
            var cells: [Image] = []
            var labels: [String] = []
            for start in stride(from: 0, to: min(rows * columns, images.count / columns * columns), by: columns) {
                let row = start..<(start + columns)
                cells += images[row] + sceneImages[row]
                labels += subjects[row].map { String($0.name.prefix(18)) } + row.map { _ in "(real scene)" }
            }
            return Canvas.labelledGrid(cells, labels: labels, columns: columns)
        }
    }

    /// - Parameter subjects: the UNet's training subjects; nil: all of the catalog's.
    public static func subjectMatch(
        pipeline: StableDiffusionPipeline, projection: Tensor, catalog: EmojiCatalog,
        subjects: [EmojiSubject]? = nil, count: Int = 100, k: Int = 5, guidance: Float = 5, steps: Int = 30,
        report: (String) -> Void = { _ in }
    ) throws -> Result {
        guard let vision = pipeline.imageEncoder else {
            throw TrainingError("the pipeline has no image_encoder/ to score with")
        }
        let clip = try pipeline.clipTextModel()
        let candidates = catalog.trainingSubjects
        let subjects = subjects ?? candidates
        let scenes = SceneGenerator(catalog: catalog, subjects: subjects, side: Recipe.imageSide, seed: 0x6E0)
        var random = RandomGenerator(seed: 11)
        var layouts: [(subject: EmojiSubject, layout: SceneLayout)] = []
        for _ in 0..<count {
            layouts.append((subjects[Int(random.next() % UInt64(subjects.count))], SceneLayout.random(using: &random)))
        }
        let captions = layouts.map { SceneGenerator.caption($0.subject, layout: $0.layout, side: scenes.side) }
        var images: [Image] = []
        for start in stride(from: 0, to: count, by: 25) {
            let part = Array(captions[start..<min(count, start + 25)])
            images += try UNetTrainer.generate(
                unet: pipeline.unet, text: pipeline.textEncoder, vae: pipeline.vae, schedule: pipeline.schedule,
                tokenizer: pipeline.tokenizer, captions: part, guidance: guidance, steps: steps, seed: UInt64(start))
            report("generated \(images.count) of \(count)")
        }
        let realImages = layouts.map { scenes.render($0.subject, layout: $0.layout).image }
        let evaluated = Set(layouts.map(\.subject))
        let trained = Set(subjects)
        let trainedIndices = candidates.indices.filter { trained.contains(candidates[$0]) }
        let evaluatedIndices = candidates.indices.filter { evaluated.contains(candidates[$0]) }
        var generated = Counts()
        var real = Counts()
        /// Adds this caption's ranks of its own subject (index `own`) to `counts`.
        func tally(_ scores: [Float], own: Int, into counts: inout Counts) {
            if scores.filter({ $0 > scores[own] }).count < k { counts.amongAll += 1 }
            if trainedIndices.filter({ scores[$0] > scores[own] }).count < k { counts.amongTrained += 1 }
            if evaluatedIndices.filter({ scores[$0] > scores[own] }).count < k { counts.amongEvaluated += 1 }
        }
        try withoutGradients {
            let imageEmbeddings = vision.embeddings(images)
            let sceneEmbeddings = vision.embeddings(realImages)
            for (index, item) in layouts.enumerated() {
                let alternatives = candidates.map { SceneGenerator.caption($0, layout: item.layout, side: scenes.side) }
                var scores: [Float] = []
                var sceneScores: [Float] = []
                for start in stride(from: 0, to: alternatives.count, by: 256) {
                    let t = CLIPTrainer.textEmbeddings(
                        Array(alternatives[start..<min(alternatives.count, start + 256)]),
                        text: clip, projection: projection, tokenizer: pipeline.tokenizer)
                    let width = t.shape[1]
                    func row(_ embeddings: Tensor) -> Tensor {
                        Tensor(Array(embeddings.scalars[(index * width)..<((index + 1) * width)]), shape: [1, width])
                    }
                    scores += row(imageEmbeddings).matmul(t, transposeB: true).scalars
                    sceneScores += row(sceneEmbeddings).matmul(t, transposeB: true).scalars
                }
                guard let own = candidates.firstIndex(of: item.subject) else { throw TrainingError("subject missing") }
                tally(scores, own: own, into: &generated)
                tally(sceneScores, own: own, into: &real)
                if index % 20 == 19 { report("scored \(index + 1) of \(count)") }
            }
        }
        let n = Double(count)
        for c in [\Counts.amongAll, \Counts.amongTrained, \Counts.amongEvaluated] {
            generated[keyPath: c] /= n
            real[keyPath: c] /= n
        }
        return Result(
            generated: generated, scenes: real, evaluatedSubjects: evaluated.count, k: k, images: images,
            sceneImages: realImages, captions: captions, subjects: layouts.map(\.subject))
    }
}
