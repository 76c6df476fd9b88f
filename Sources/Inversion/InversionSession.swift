import Diffusion
import Foundation
import Numerics

/// One optimisation step's record.
public struct StepRecord: Sendable {
    public var step: Int
    public var loss: Float
    public var timesteps: [Int]
    /// ‖∇_c‖ of each sample's own (unweighted) error, under each definition of g: the on-the-fly g(t) measurements.
    public var gradientNorms: [GradientNorms]
    public var seconds: Double
}

/// A textual-inversion session: a pipeline, a concept, the learned placeholder vectors, an AdamW
/// optimiser over those vectors only, and a timestep strategy.
public final class InversionSession {
    public struct Settings: Sendable {
        public var learningRate: Float = 5e-3
        public var batch = 1
        public var weightDecay: Float = 1e-2
        public var seed: UInt64 = 0
        /// Weigh each sample's loss by 1 / (T · p(t)) (off by default, as in the paper).
        public var importanceWeighting = false
        /// Random probes per sample when adaptive follows g=jacobian (one extra backward pass each).
        public var probes = 4
        /// The schedule, accumulation, clipping and Min-SNR weighting of each step.
        public var knobs = TrainingKnobs()
        public init() {}

        /// Throws when a setting is out of range (from a command or a session file).
        public func validate() throws {
            guard batch >= 1 && batch <= 64 else { throw InversionError("batch must be between 1 and 64") }
            guard learningRate > 0 && learningRate.isFinite else { throw InversionError("lr must be positive") }
            guard weightDecay >= 0 && weightDecay.isFinite else {
                throw InversionError("weight_decay must be at least 0")
            }
            guard (1...64).contains(probes) else { throw InversionError("probes must be between 1 and 64") }
            try knobs.validate()
        }
    }

    public let pipeline: StableDiffusionPipeline
    public internal(set) var concept: Concept?
    /// The learned vectors [N, D], one per placeholder token.
    public internal(set) var vectors: Tensor?
    public internal(set) var settings = Settings()
    public internal(set) var sampler: TimestepSampler
    public internal(set) var history: [StepRecord] = []
    public internal(set) var stepCount = 0
    var optimizer: AdamW?
    /// Draws images, prompts and noise. Timesteps have a generator of their own, so runs with
    /// different strategies and the same seed see the same images, prompts and noise.
    var generator: RandomGenerator
    var timestepGenerator: RandomGenerator
    /// Every g(t) profile measured in this session, oldest first.
    public internal(set) var profiles: [Profile] = []
    /// The model's g(t) from generic concepts (`profile model`, or a model folder's file), which
    /// `highgrad from=model` picks from; it outlives concepts.
    public var modelProfile: ModelProfile?
    /// Where the strategy or a setting changed during this concept's training (`info` lists them).
    public internal(set) var changes: [SettingChange] = []
    /// When `step` measures the evaluation loss and similarity.
    public var measurement = MeasurementSettings()
    /// Named learned embeddings kept beside the concept (e.g. each `compare` run's), usable in prompts.
    public internal(set) var keptEmbeddings: [KeptEmbedding] = []
    /// The CLIP chosen to measure with (`evaluate evaluator=PATH`); nil: the pipeline's own.
    public internal(set) var chosenEvaluator: CLIPEvaluator?
    /// CLIP-T (generations against their prompt without the placeholder) after each step it was measured at.
    public internal(set) var textSimilarityHistory: [(step: Int, value: Double)] = []

    public init(pipeline: StableDiffusionPipeline) {
        self.pipeline = pipeline
        // Default textual inversion: uniform over the whole schedule (valid for every schedule,
        // whose length NoiseSchedule checks is at least 1).
        sampler = try! TimestepSampler(
            .range(0, pipeline.schedule.trainSteps), trainSteps: pipeline.schedule.trainSteps)
        generator = RandomGenerator(seed: 0)
        timestepGenerator = Self.timestepGenerator(seed: 0)
    }

    static func timestepGenerator(seed: UInt64) -> RandomGenerator { RandomGenerator(seed: seed ^ 0x7115_7E95) }

    /// Starts learning a concept; the vectors start from the embeddings of `initWord`'s tokens: one
    /// token for every vector, or a phrase of several tokens spread over at least as many vectors, each
    /// token starting an equal run of them in order (diffusers #4450: "stuffed animal" over 2 vectors).
    /// Kind nil: each image's caption when every image has a caption file (IMAGE.txt), else `object`;
    /// `templates`: an A1111 template file making each image's captions.
    /// Makes the concept the session learns; nothing changes when it throws (`shouldStop` is asked
    /// between images and may throw to stop).
    public func setConcept(
        name: String, images: [URL], initWord: String, vectors count: Int = 1,
        kind: ConceptKind? = nil, templates: URL? = nil, preparation: ConceptPreparation = .init(),
        shouldStop: () throws -> Void = {}
    ) throws {
        let initIDs = pipeline.tokenizer.tokenize(initWord)
        guard !initIDs.isEmpty else { throw InversionError("the init word is empty: give a word such as init=dog") }
        guard initIDs.count <= count else {
            throw InversionError(
                "the init word \"\(initWord)\" is \(initIDs.count) tokens for \(count) vector\(count == 1 ? "" : "s"): "
                    + "give vectors=\(initIDs.count) (or more) to spread it over them, or a simpler word")
        }
        let concept = try Concept.load(
            name: name, paths: images, kind: kind, vectors: count, initWord: initWord, templates: templates,
            preparation: preparation, pipeline: pipeline, shouldStop: shouldStop)
        let starts = initIDs.map { pipeline.textEncoder.tokenEmbedding(of: $0) }
        let d = starts[0].count
        self.concept = concept
        // A loaded embedding of the same name gives way to the concept, which now owns its tokens.
        keptEmbeddings.removeAll { $0.name == concept.name }
        let rows = (0..<count).map { starts[$0 * initIDs.count / count] }
        vectors = Tensor(Array(rows.joined()), shape: [count, d], requiresGrad: true)
        resetOptimizer()
        clearProgress()
    }

    /// Forgets the steps and metrics of the previous concept.
    private func clearProgress() {
        history = []
        stepCount = 0
        evaluationItems = nil
        evaluationHistory = []
        similarityHistory = []
        textSimilarityHistory = []
        conceptImageEmbeddings = nil
        changes = []
    }

    /// Changes the settings without starting over: AdamW keeps its moments (taking the new rate and
    /// decay) and the data and timestep generators keep their place, unless the seed changes, which
    /// reseeds them. `startOver()` is the explicit fresh start.
    public func configure(_ settings: Settings) throws {
        try settings.validate()
        let old = self.settings
        self.settings = settings
        if settings.seed != old.seed { reseed() }
        optimizer?.learningRate = settings.learningRate
        optimizer?.weightDecay = settings.weightDecay
        var changed: [String] = []
        if settings.learningRate != old.learningRate { changed.append("lr=\(settings.learningRate)") }
        if settings.batch != old.batch { changed.append("batch=\(settings.batch)") }
        if settings.weightDecay != old.weightDecay { changed.append("weight_decay=\(settings.weightDecay)") }
        if settings.seed != old.seed { changed.append("seed=\(settings.seed) (generators reseeded)") }
        if settings.probes != old.probes { changed.append("probes=\(settings.probes)") }
        if settings.knobs != old.knobs { changed.append(settings.knobs.summary) }
        if settings.importanceWeighting != old.importanceWeighting {
            changed.append("reweight=\(settings.importanceWeighting)")
        }
        if !changed.isEmpty { noteChange(changed.joined(separator: " ")) }
    }

    /// Starts the optimisation over from the current vectors: fresh AdamW moments, generators
    /// reseeded from the seed.
    public func startOver() {
        reseed()
        resetOptimizer()
        noteChange("optimizer reset (fresh AdamW moments, generators reseeded)")
    }

    private func reseed() {
        generator = RandomGenerator(seed: settings.seed)
        timestepGenerator = Self.timestepGenerator(seed: settings.seed)
    }

    /// Records a change made after training began (before it, there is nothing to mark).
    func noteChange(_ change: String) {
        guard stepCount > 0 else { return }
        changes.append(SettingChange(step: stepCount, change: change))
        if changes.count > SessionFileContents.maxChanges { changes.removeFirst() }
    }

    /// Adaptive and high-grad strategies start from `profile`, the last one recorded by default.
    public func setStrategy(_ strategy: TimestepStrategy, profile: [ProfilePoint]? = nil) throws {
        var chosen = profile ?? strategy.gradientDefinition.map(lastProfile) ?? []
        if case .highGrad(_, let g, let from) = strategy, profile == nil {
            if from == .model {
                guard let modelProfile else { throw InversionError(ModelProfile.missing) }
                chosen = modelProfile.points(g)
                guard !chosen.isEmpty else {
                    throw InversionError(
                        "the model profile has no g=\(g.rawValue) (run `profile model g=\(g.rawValue)` for one)")
                }
            } else if chosen.isEmpty {
                throw InversionError(
                    "high-grad picks its interval from a profile of g(t) (g=\(g.rawValue)): run `profile"
                        + (g == .default ? "" : " g=\(g.rawValue)") + "` first")
            }
        }
        sampler = try TimestepSampler(strategy, trainSteps: pipeline.schedule.trainSteps, profile: chosen)
        noteChange("strategy \(strategy)")
    }

    func resetOptimizer() {
        optimizer = vectors.map { AdamW([$0], learningRate: settings.learningRate, weightDecay: settings.weightDecay) }
    }

    /// The text encoder's output for token ids [B, L] whose placeholder tokens take the learned
    /// vectors (or a kept embedding's); without a concept, only kept embeddings' placeholders.
    func conditioning(_ ids: IndexTensor) throws -> Tensor {
        let own: (ids: [Int], vectors: Tensor)? = concept.flatMap { c in vectors.map { (c.tokenIDs, $0) } }
        let text = pipeline.textEncoder
        let vocabulary = text.vocabularySize
        // Rows beyond the vocabulary: the learned vectors first, then every kept embedding's.
        let extraIDs = (own?.ids ?? []) + keptEmbeddings.flatMap(\.tokenIDs)
        var positions: [Int] = []
        var which: [Int] = []
        var lookup = ids.values
        for (i, id) in ids.values.enumerated() where id >= vocabulary {
            guard let k = extraIDs.firstIndex(of: id) else {
                throw InversionError(
                    "token id \(id) is neither in the vocabulary nor one of the session's placeholders")
            }
            positions.append(i)
            which.append(k)
            lookup[i] = 0
        }
        let d = text.tokenWidth
        var embeddings = text.tokenEmbeddings(IndexTensor(lookup, shape: ids.shape)).reshaped([ids.values.count, d])
        if !positions.isEmpty {
            let rows =
                which.allSatisfy { $0 < (own?.ids.count ?? 0) } && own != nil
                ? own!.vectors
                : Tensor.concatenate((own.map { [$0.vectors] } ?? []) + keptEmbeddings.map(\.vectors), axis: 0)
            embeddings = embeddings.replacingRows(
                positions, with: rows.embedding(IndexTensor(which, shape: [which.count])))
        }
        return text.conditioning(tokenEmbeddings: embeddings.reshaped(ids.shape + [d]), ids: ids).context
    }

    /// The loss and, per sample, ‖∇_c‖ of its own unweighted error (both definitions of g),
    /// accumulating the vectors' gradient. `sample`, `target` [B, C, H, W]; `ids` [B, L]; `weights`
    /// scale each sample's loss (never its measured norms).
    func lossAndGradients(
        ids: IndexTensor, sample: Tensor, timesteps: [Int], target: Tensor,
        weights: [Float]? = nil
    ) throws -> (loss: Float, norms: [GradientNorms]) {
        let encoded = try conditioning(ids)
        let batch = sample.shape[0]
        // ‖e‖² per sample, written by the share that holds the sample.
        let errorSquares = UnsafeMutableBufferPointer<Double>.allocate(capacity: batch)
        errorSquares.initialize(repeating: 0)
        defer { errorSquares.deallocate() }
        // The conditioning as a leaf of its own, so its gradient (g(t)'s integrand) can be read
        // before it flows on into the text encoder; the frozen UNet runs on shares of the batch.
        let (loss, gc) = batchMeanLoss(of: encoded.detached()) { c, range in
            let prediction = pipeline.unet(
                sample.batchRows(range), timesteps: timesteps[range].map(Float.init), context: c)
            let target = target.batchRows(range)
            let error = prediction - target
            let values = error.detached()
            let per = values.count / range.count
            for (k, b) in range.enumerated() {
                var s = 0.0
                for i in (k * per)..<((k + 1) * per) { s += Double(values.data[i]) * Double(values.data[i]) }
                errorSquares[b] = s
            }
            guard let weights else { return Tensor.mse(prediction, target) }
            return (error * error * Tensor(Array(weights[range]), shape: [range.count, 1, 1, 1])).mean()
        }
        // Each sample's share of the batch mean, rescaled to the gradient of its own unweighted loss.
        let per = gc.count / batch
        let elements = target.count / batch
        let norms = (0..<batch).map { b -> GradientNorms in
            var s = 0.0
            for i in 0..<per {
                let v = Double(gc.data[b * per + i])
                s += v * v
            }
            let weight = Double(weights?[b] ?? 1)
            return GradientNorms(
                mseGradient: weight > 0 ? s.squareRoot() * Double(batch) / weight : 0, errorSquares: errorSquares[b],
                count: elements)
        }
        encoded.backward(gc)
        return (loss, norms)
    }

    /// The fixed evaluation items of DVAR (Voronov et al., 2023): 4 (image, template, timestep,
    /// noise) draws made once per concept, so the evaluation loss moves only with the vectors.
    var evaluationItems: (ids: IndexTensor, sample: Tensor, target: Tensor, timesteps: [Int])?
    /// The evaluation loss after each step it was measured at.
    public internal(set) var evaluationHistory: [(step: Int, loss: Float)] = []
    /// How CLIP image similarity is measured, and its value after each step it was measured at.
    public var similaritySettings = SimilaritySettings()
    public internal(set) var similarityHistory: [(step: Int, value: Double)] = []
    /// The concept images' unit CLIP embeddings, computed once per concept.
    var conceptImageEmbeddings: [[Float]]?

    /// Saves the learned vectors as a single-key safetensors file `{"<token>": [N, D]}`.
    public func saveEmbedding(to url: URL) throws {
        guard let concept, let vectors else { throw InversionError.noConcept }
        try EmbeddingFile.write(token: concept.tokens[0], vectors: vectors, to: url)
    }

    /// Loads vectors from an embedding file beside the concept, under `token` (or the file's own name):
    /// usable in prompts and negative prompts, not trained. Loading a name again replaces it.
    @discardableResult
    public func loadEmbedding(from url: URL, token: String? = nil) throws -> KeptEmbedding {
        let width = pipeline.textEncoder.tokenWidth
        let (named, loaded) = try EmbeddingFile.read(url, width: width)
        guard let name = token ?? named else {
            throw InversionError("\(displayPath(url)) does not name its token: give one with token=<name>")
        }
        let trimmed = name.trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
        if let concept, concept.name == trimmed {
            throw InversionError(
                "<\(trimmed)> is the concept being learned: load the file under another token, token=<\(trimmed)-file>")
        }
        return try keep(name: trimmed, vectors: loaded)
    }

    /// One training item: an image, whether it is mirrored, and its prompt (the image's own caption, or a
    /// template) with the placeholder.
    func drawItem(_ concept: Concept) -> (image: Int, mirrored: Bool, prompt: String) {
        let index = Int(generator.next() % UInt64(concept.images.count))
        let mirrored = ConceptPreparation.mirrors(generator.next(), chance: concept.flipChance)
        let templates = concept.prompts(forImage: index)
        let prompt = templates[Int(generator.next() % UInt64(templates.count))].replacingOccurrences(
            of: "{}", with: concept.placeholder)
        return (index, mirrored, prompt)
    }

    /// A training batch: random images (mirrored half the time unless captioned, or as `flip=` says; a
    /// random crop of each with `crop=random`), prompts, VAE samples, noise.
    func batch(size: Int, timesteps: [Int]) throws -> (ids: IndexTensor, sample: Tensor, target: Tensor) {
        guard let concept else { throw InversionError.noConcept }
        guard !concept.images.isEmpty else {
            throw InversionError.noImages(concept.name)
        }
        let tokenizer = pipeline.tokenizer
        let scale = pipeline.vae.config.scalingFactor
        var ids: [Int] = []
        var latents: [Tensor] = []
        for _ in 0..<size {
            let (index, mirrored, prompt) = drawItem(concept)
            let (mean, std): (Tensor, Tensor)
            if concept.preparation.crop == .random {
                let side = concept.preparation.side(on: pipeline)
                let crop = ConceptPreparation.randomCrop(concept.images[index], side: side, using: &generator)
                (mean, std) = Concept.posterior(mirrored ? crop.flippedHorizontally() : crop, pipeline.vae)
            } else {
                (mean, std) = mirrored ? concept.latents[index].flipped : concept.latents[index].plain
            }
            ids += tokenizer.encode(prompt).ids
            latents.append((mean + std * Tensor.randn(mean.shape, using: &generator)) * scale)
        }
        let x0 = Tensor.concatenate(latents, axis: 0)
        let noise = Tensor.randn(x0.shape, using: &generator)
        let schedule = pipeline.schedule
        return (
            IndexTensor(ids, shape: [size, tokenizer.contextLength]),
            schedule.addNoise(x0, noise: noise, timesteps: timesteps),
            schedule.target(x0: x0, noise: noise, timesteps: timesteps)
        )
    }
}
