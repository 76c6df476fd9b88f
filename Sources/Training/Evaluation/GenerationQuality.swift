import Diffusion
import Foundation
import Numerics

/// Does the UNet draw the subject it is asked for? For captions of training subjects, each
/// generation is scored by the tiny CLIP against the same caption with every training subject put
/// in (the layout words fixed, only the subject varies); it counts when its own subject ranks in
/// the top k.
public enum GenerationQuality {
    public struct Result {
        public var topK: Double
        public var k: Int
        public var images: [Image]
        public var captions: [String]
        public var subjects: [EmojiSubject]
    }

    public static func subjectMatch(pipeline: StableDiffusionPipeline, projection: Tensor, catalog: EmojiCatalog,
                                    count: Int = 100, k: Int = 5, guidance: Float = 5, steps: Int = 30,
                                    report: (String) -> Void = { _ in }) throws -> Result {
        guard let vision = pipeline.imageEncoder else { throw TrainingError("the pipeline has no image_encoder/ to score with") }
        let subjects = catalog.trainingSubjects
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
            images += try UNetTrainer.generate(unet: pipeline.unet, text: pipeline.textEncoder, vae: pipeline.vae, schedule: pipeline.schedule,
                                               tokenizer: pipeline.tokenizer, captions: part, guidance: guidance, steps: steps, seed: UInt64(start))
            report("generated \(images.count) of \(count)")
        }
        var hits = 0
        try withoutGradients {
            let imageEmbeddings = vision.embeddings(images)
            for (index, item) in layouts.enumerated() {
                let candidates = subjects.map { SceneGenerator.caption($0, layout: item.layout, side: scenes.side) }
                var scores: [Float] = []
                for start in stride(from: 0, to: candidates.count, by: 256) {
                    let t = CLIPTrainer.textEmbeddings(Array(candidates[start..<min(candidates.count, start + 256)]),
                                                       text: pipeline.textEncoder, projection: projection, tokenizer: pipeline.tokenizer)
                    let row = Tensor(Array(imageEmbeddings.scalars[(index * t.shape[1])..<((index + 1) * t.shape[1])]), shape: [1, t.shape[1]])
                    scores += row.matmul(t, transposeB: true).scalars
                }
                guard let own = subjects.firstIndex(of: item.subject) else { throw TrainingError("subject missing") }
                let better = scores.filter { $0 > scores[own] }.count
                if better < k { hits += 1 }
                if index % 20 == 19 { report("scored \(index + 1) of \(count)") }
            }
        }
        return Result(topK: Double(hits) / Double(count), k: k, images: images, captions: captions, subjects: layouts.map(\.subject))
    }
}
