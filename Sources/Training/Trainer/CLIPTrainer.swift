import Diffusion
import Foundation
import Numerics

/// Trains a tiny CLIP contrastively on scenes of every emoji (held-out subjects included: it is the
/// evaluator, as real CLIP knows the world). The text tower is saved as `text_encoder/` (CLIPTextModel),
/// the image tower as `image_encoder/` (CLIPVisionModelWithProjection); the text projection, needed
/// only for the contrastive loss, in `text_projection/`.
public struct CLIPTrainer {
    public var folder: URL
    public var steps = 6000
    public var batch = 64
    public var learningRate: Float = 5e-4
    /// The softmax temperature, fixed (CLIP learns it; a tiny model trains steadier without).
    public var temperature: Float = 0.07
    public var saveEvery = 250
    public var seed: UInt64 = 2
    public static let evaluationSeed: UInt64 = 0xC11E

    public init(folder: URL) { self.folder = folder }

    /// The three towers, resumed from (or started in) `folder`.
    public static func open(folder: URL, seed: UInt64, learningRate: Float)
        throws -> (text: CLIPTextModel, vision: CLIPVisionModel, projection: Tensor, checkpoints: [Checkpoint])
    {
        let (text, textCheckpoint) = try Checkpoint.open(
            folder: folder.appendingPathComponent("text_encoder"), config: Recipe.textEncoder,
            weightsFile: "model.safetensors",
            prefix: CLIPTextModel.prefix, seed: seed, learningRate: learningRate
        ) { weights in
            try CLIPTextModel(config: .init(ConfigFile(values: Recipe.textEncoder)), weights: weights)
        }
        let (vision, visionCheckpoint) = try Checkpoint.open(
            folder: folder.appendingPathComponent("image_encoder"), config: Recipe.imageEncoder,
            weightsFile: "model.safetensors",
            seed: seed &+ 1, learningRate: learningRate
        ) { weights in
            try CLIPVisionModel(config: .init(ConfigFile(values: Recipe.imageEncoder)), weights: weights)
        }
        let width = Recipe.textEncoder["hidden_size"] as? Int ?? 128
        let dim = Recipe.textEncoder["projection_dim"] as? Int ?? 128
        let (head, headCheckpoint) = try Checkpoint.open(
            folder: folder.appendingPathComponent("text_projection"), config: ["projection_dim": dim],
            weightsFile: "model.safetensors",
            seed: seed &+ 2, learningRate: learningRate
        ) { weights in
            try TextProjection(width: width, dimension: dim, weights: weights)
        }
        let checkpoints = [textCheckpoint, visionCheckpoint, headCheckpoint]
        guard Set(checkpoints.map(\.step)).count == 1 else {
            throw TrainingError(
                "\(folder.path): the towers are at different steps (\(checkpoints.map(\.step))), an interrupted save; "
                    + "keep one step's files"
            )
        }
        return (text, vision, head.weight.value, checkpoints)
    }

    /// Unit text embeddings [B, P] of captions (sequences cut after the longest one: with causal
    /// attention the pooled end-of-text state does not see the padding).
    static func textEmbeddings(_ captions: [String], text: CLIPTextModel, projection: Tensor, tokenizer: CLIPTokenizer)
        -> Tensor
    {
        let encoded = captions.map { tokenizer.encode($0).ids }
        let length = encoded.map { ids in (ids.firstIndex(of: text.config.eosTokenID) ?? ids.count - 1) + 1 }.max() ?? 1
        let ids = IndexTensor(encoded.flatMap { $0.prefix(length) }, shape: [captions.count, length])
        return text(ids).pooled.linear(projection).l2Normalized()
    }

    public func run(catalog: EmojiCatalog, tokenizer: CLIPTokenizer, report: (String) -> Void) throws {
        let (text, vision, projection, checkpoints) = try Self.open(
            folder: folder, seed: seed, learningRate: learningRate)
        let clock = checkpoints[0]
        report(
            "clip: \(checkpoints.map(\.size).reduce(0, +)) parameters, step \(clock.step) of \(steps), batch \(batch)")
        let scenes = SceneGenerator(catalog: catalog, subjects: catalog.subjects, side: Recipe.imageSide, seed: seed)
        var window: [(loss: Double, accuracy: Double, seconds: Double)] = []
        while clock.step < steps {
            let started = DispatchTime.now().uptimeNanoseconds
            let step = clock.step
            let batchScenes = (step * batch..<((step + 1) * batch)).map(scenes.scene)
            let t = Self.textEmbeddings(
                batchScenes.map(\.caption), text: text, projection: projection, tokenizer: tokenizer)
            let v = vision.embeddings(batchScenes.map(\.image))
            let logits = v.matmul(t, transposeB: true) * (1 / temperature)  // [B, B]: image i x caption j
            let targets = Array(0..<batchScenes.count)
            let loss = (logits.crossEntropy(targets) + logits.permuted([1, 0]).crossEntropy(targets)) * 0.5
            for c in checkpoints {
                c.optimizer.learningRate = Schedule.warmupCosine(step: step, total: steps, peak: learningRate)
                c.zeroGradients()
            }
            loss.backward()
            let parameters = checkpoints.flatMap(\.optimizer.parameters)
            clipGradients(parameters, maxNorm: 1)
            for c in checkpoints { c.optimizer.update() }
            let accuracy = Double(Self.correct(logits)) / Double(batchScenes.count)
            window.append((Double(loss.item), accuracy, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9))
            let done = clock.step
            if done % 25 == 0 || done == steps {
                let n = Double(window.count)
                let mean = (
                    window.map(\.loss).reduce(0, +) / n, window.map(\.accuracy).reduce(0, +) / n,
                    window.map(\.seconds).reduce(0, +) / n
                )
                try clock.log(
                    ["step": Double(done), "loss": mean.0, "accuracy": mean.1, "seconds": mean.2],
                    header: ["step", "loss", "accuracy", "seconds"])
                report(
                    String(
                        format: "clip step %d: loss %.4f, in-batch image→caption accuracy %.2f, %.2f s/step", done,
                        mean.0, mean.1, mean.2))
                window = []
            }
            if done % saveEvery == 0 || done == steps { for c in checkpoints { try c.save() } }
        }
    }

    /// How many rows' largest logit is on the diagonal.
    static func correct(_ logits: Tensor) -> Int {
        let n = logits.shape[0]
        let values = logits.scalars
        return (0..<n).filter { i in
            let row = values[(i * n)..<((i + 1) * n)]
            return row.indices.max { row[$0] < row[$1] } == i * n + i
        }.count
    }

    /// Image→caption top-1 retrieval among `count` held-out scenes of training subjects.
    public static func evaluate(
        text: CLIPTextModel, vision: CLIPVisionModel, projection: Tensor, tokenizer: CLIPTokenizer,
        catalog: EmojiCatalog, count: Int = 100
    ) -> Double {
        let scenes = SceneGenerator(
            catalog: catalog, subjects: catalog.trainingSubjects, side: Recipe.imageSide, seed: evaluationSeed)
        let batch = (0..<count).map(scenes.scene)
        return withoutGradients {
            let t = textEmbeddings(batch.map(\.caption), text: text, projection: projection, tokenizer: tokenizer)
            let v = vision.embeddings(batch.map(\.image))
            return Double(correct(v.matmul(t, transposeB: true))) / Double(count)
        }
    }
}
