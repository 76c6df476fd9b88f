import Diffusion
import Foundation
import Graphics
import Numerics

/// Trains the UNet on the latents of scenes of the training subjects (never the held-out ones),
/// conditioned on the frozen tiny CLIP's last hidden states, with 10% empty captions so that
/// classifier-free guidance works: Stable Diffusion's recipe, epsilon prediction.
public struct UNetTrainer {
    public var folder: URL
    /// The trained text encoder and VAE folders (frozen here).
    public var textEncoder: URL
    public var vae: URL
    public var steps = 20000
    public var batch = 32
    public var learningRate: Float = 5e-4
    public var emptyCaptions = 0.1
    public var saveEvery = 250
    public var sampleEvery = 1000
    public var seed: UInt64 = 3
    public var config: [String: Any] = Recipe.unet
    /// The subjects to train on; nil: those of the run in progress in the folder, else every training subject.
    public var subjects: [EmojiSubject]?
    public var scheduleSteps: Int?
    /// Model copies that each take a share of the batch on a thread of their own (data parallel):
    /// on small models this uses the cores far better than splitting each operation.
    public var replicas = min(2, ProcessInfo.processInfo.activeProcessorCount)
    /// γ of the Min-SNR loss weighting (`NoiseSchedule.minSNRWeights`); nil: the plain MSE of Stable Diffusion.
    public var minSNRGamma: Double?
    /// Decay of the weights' moving average, which the samples and the final model use.
    public var averageDecay: Float = 0.999
    /// How a fresh run draws its first weights. Latent diffusion's: on the recipe it reached the same
    /// restorations as fan-in's N(0, 1/fan_in), drew the asked subject far more often, and starts faster.
    public var initialization = UNetTrainer.latentDiffusionInit

    /// Latent diffusion's initialisation: PyTorch's default scale, and the last layer of every residual
    /// branch at zero (LDM's `zero_module`: each resnet's conv2, each transformer's proj_out, and conv_out).
    public static let latentDiffusionInit = RandomInit(scale: .pytorch) { layer in
        layer == "conv_out" || layer.hasSuffix(".conv2") || layer.hasSuffix(".proj_out")
    }

    public init(folder: URL, textEncoder: URL, vae: URL) {
        self.folder = folder
        self.textEncoder = textEncoder
        self.vae = vae
    }

    public func run(catalog: EmojiCatalog, tokenizer: CLIPTokenizer, report: (String) -> Void) throws {
        let text = try CLIPTextModel(folder: textEncoder)
        let autoencoder = try AutoencoderKL(folder: vae)
        let schedule = try NoiseSchedule(ConfigFile(values: Recipe.scheduler))
        let config = self.config
        let (unet, checkpoint) = try Checkpoint.open(
            folder: folder, config: config, weightsFile: "diffusion_pytorch_model.safetensors",
            seed: seed, initialization: initialization, learningRate: learningRate
        ) { weights in
            try UNet2DConditionModel(config: UNetConfig(ConfigFile(values: config)), weights: weights)
        }
        try checkpoint.enableAverage(decay: averageDecay)
        let copies = try DataParallel(master: unet, count: replicas) { weights in
            try UNet2DConditionModel(config: UNetConfig(ConfigFile(values: config)), weights: weights)
        }
        report(
            "unet: \(checkpoint.size) parameters, step \(checkpoint.step) of \(steps), batch \(batch); latents scaled "
                + "by \(autoencoder.config.scalingFactor)"
        )
        // The folder keeps its subject list, so that a resumed run and the assembled model know it.
        let subjects = try SubjectList.settle(
            self.subjects, folder: folder, inProgress: checkpoint.step > 0, catalog: catalog)
        report("unet: trained on \(subjects.count) of the \(catalog.trainingSubjects.count) training subjects")
        let scenes = SceneGenerator(
            catalog: catalog, subjects: subjects, side: autoencoder.config.sampleSize, seed: seed)
        var window: [(loss: Double, seconds: Double)] = []
        while checkpoint.step < steps {
            let started = DispatchTime.now().uptimeNanoseconds
            let step = checkpoint.step
            checkpoint.optimizer.learningRate = Schedule.warmupCosine(
                step: step, total: scheduleSteps ?? steps, peak: learningRate)
            var random = RandomGenerator(seed: seed &+ UInt64(step) &* 104_729)
            let (images, captions, _) = scenes.batch(Array((step * batch)..<((step + 1) * batch)))
            let prompts = captions.map { random.uniformDouble() < emptyCaptions ? "" : $0 }
            let (x0, context) = withoutGradients { () -> (Tensor, Tensor) in
                let (mean, logVariance) = autoencoder.encode(images)
                let latents =
                    autoencoder.sample(mean: mean, logVariance: logVariance, using: &random)
                    * autoencoder.config.scalingFactor
                let ids = IndexTensor(
                    prompts.flatMap { tokenizer.encode($0).ids }, shape: [prompts.count, tokenizer.contextLength])
                return (latents, text(ids).lastHidden)
            }
            let timesteps = (0..<batch).map { _ in Int(random.next() % UInt64(schedule.trainSteps)) }
            let noise = Tensor.randn(x0.shape, using: &random)
            let sample = schedule.addNoise(x0, noise: noise, timesteps: timesteps)
            let target = schedule.target(x0: x0, noise: noise, timesteps: timesteps)
            // A weighted MSE as the MSE of both sides scaled by √weight, one scale per latent.
            let scales = minSNRGamma.map { gamma in
                Tensor(schedule.minSNRWeights(timesteps, gamma: gamma).map { $0.squareRoot() }, shape: [batch, 1, 1, 1])
            }
            checkpoint.zeroGradients()
            let loss = copies.lossAndGradients(batch: batch) { model, range in
                let prediction = model(
                    sample.batchRows(range), timesteps: timesteps[range].map(Float.init),
                    context: context.batchRows(range))
                guard let scale = scales?.batchRows(range) else {
                    return Tensor.mse(prediction, target.batchRows(range))
                }
                return Tensor.mse(prediction * scale, target.batchRows(range) * scale)
            }
            clipGradients(checkpoint.optimizer.parameters, maxNorm: 1)
            checkpoint.optimizer.update()
            checkpoint.updateAverage()
            window.append((loss, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9))
            let done = checkpoint.step
            if done % 25 == 0 || done == steps {
                let n = Double(window.count)
                let mean = (window.map(\.loss).reduce(0, +) / n, window.map(\.seconds).reduce(0, +) / n)
                try checkpoint.log(
                    ["step": Double(done), "loss": mean.0, "seconds": mean.1], header: ["step", "loss", "seconds"])
                report(String(format: "unet step %d: loss %.4f, %.2f s/step", done, mean.0, mean.1))
                window = []
            }
            if done % saveEvery == 0 || done == steps { try checkpoint.save() }
            if done % sampleEvery == 0 || done == steps {
                let grid = try checkpoint.withAverage {
                    try Self.samples(
                        unet: unet, text: text, vae: autoencoder, schedule: schedule, tokenizer: tokenizer,
                        captions: Self.sampleCaptions(catalog, subjects: subjects), guidance: 5)
                }
                let samples = folder.appendingPathComponent("samples")
                try FileManager.default.createDirectory(at: samples, withIntermediateDirectories: true)
                try grid.writePNG(to: samples.appendingPathComponent("step-\(done).png"))
            }
        }
    }

    /// Eight captions of training subjects, always the same, to watch training by eye.
    static func sampleCaptions(_ catalog: EmojiCatalog, subjects: [EmojiSubject]) -> [String] {
        let scenes = SceneGenerator(catalog: catalog, subjects: subjects, side: Recipe.imageSide, seed: 0x5A3)
        return (0..<8).map { scenes.scene($0).caption }
    }

    /// Generations for `captions` (30 DDIM steps, classifier-free guidance), labelled, in a grid.
    public static func samples(
        unet: UNet2DConditionModel, text: any TextEncoder, vae: AutoencoderKL, schedule: NoiseSchedule,
        tokenizer: CLIPTokenizer, captions: [String], guidance: Float, seed: UInt64 = 0
    ) throws -> Image {
        let images = try generate(
            unet: unet, text: text, vae: vae, schedule: schedule, tokenizer: tokenizer,
            captions: captions, guidance: guidance, seed: seed)
        return Canvas.labelledGrid(images, labels: captions.map { String($0.prefix(24)) }, columns: 4)
    }

    public static func generate(
        unet: UNet2DConditionModel, text: any TextEncoder, vae: AutoencoderKL, schedule: NoiseSchedule,
        tokenizer: CLIPTokenizer, captions: [String], guidance: Float, steps: Int = 30, seed: UInt64 = 0
    ) throws -> [Image] {
        let n = captions.count
        let (conditional, unconditional) = withoutGradients { () -> (Tensor, Tensor) in
            let ids = IndexTensor(captions.flatMap { tokenizer.encode($0).ids }, shape: [n, tokenizer.contextLength])
            let empty = IndexTensor(
                Array(Array(repeating: tokenizer.encode("").ids, count: n).joined()),
                shape: [n, tokenizer.contextLength])
            return (text.conditioning(ids).context, text.conditioning(empty).context)
        }
        return try Generation.images(
            unet: unet, vae: vae, schedule: schedule, conditional: conditional, unconditional: unconditional,
            steps: steps, guidance: guidance, seed: seed)
    }
}
