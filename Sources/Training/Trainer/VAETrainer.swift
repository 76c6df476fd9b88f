import Diffusion
import Foundation
import Numerics

/// Trains the AutoencoderKL on emoji scenes: reconstruction (mean squared error) plus a small KL
/// term that keeps the latents a well-behaved Gaussian for the UNet.
public struct VAETrainer {
    public var folder: URL
    public var steps = 4000
    public var batch = 32
    public var learningRate: Float = 1e-3
    public var klWeight: Float = 1e-4
    /// Weight of the scale-equivariance term (Skorokhodov et al. 2025, "Improving the diffusability of
    /// autoencoders"): the decoder must turn the latents halved in size into the image halved in size,
    /// which keeps high frequencies out of the latents; nil: not used.
    public var scaleEquivarianceWeight: Float?
    public var saveEvery = 250
    public var seed: UInt64 = 1
    /// The architecture (the embedded model's unless a test asks for a smaller one).
    public var config: [String: Any] = Recipe.vae
    /// The step count the learning-rate schedule spans (`steps` unless set).
    public var scheduleSteps: Int?
    /// Held-out scenes come from a stream of their own, never trained on.
    public static let evaluationSeed: UInt64 = 0xE7A1

    public init(folder: URL) { self.folder = folder }

    /// Runs until `steps` (resuming from the folder's checkpoint); `report` gets a line now and then.
    public func run(catalog: EmojiCatalog, report: (String) -> Void) throws {
        let config = self.config
        let (vae, checkpoint) = try Checkpoint.open(
            folder: folder, config: config, weightsFile: "diffusion_pytorch_model.safetensors",
            seed: seed, learningRate: learningRate
        ) { weights in
            try AutoencoderKL(config: .init(ConfigFile(values: config)), weights: weights)
        }
        report("vae: \(checkpoint.size) parameters, step \(checkpoint.step) of \(steps), batch \(batch)")
        let scenes = SceneGenerator(
            catalog: catalog, subjects: catalog.subjects, side: vae.config.sampleSize, seed: seed)
        var window: [(loss: Double, mse: Double, seconds: Double)] = []
        while checkpoint.step < steps {
            let started = DispatchTime.now().uptimeNanoseconds
            let step = checkpoint.step
            checkpoint.optimizer.learningRate = Schedule.warmupCosine(
                step: step, total: scheduleSteps ?? steps, peak: learningRate)
            // Per step, so a resumed run draws the same noise.
            var noise = RandomGenerator(seed: seed &+ UInt64(step) &* 7919)
            let x = scenes.batch(Array((step * batch)..<((step + 1) * batch))).images
            let (mean, logVariance) = vae.encode(x)
            let z = vae.sample(mean: mean, logVariance: logVariance, using: &noise)
            let reconstruction = vae.decode(z)
            let mse = Tensor.mse(reconstruction, x)
            let kl = ((mean * mean + logVariance.exp() - logVariance) - 1).mean() * 0.5
            var loss = mse + kl * klWeight
            if let weight = scaleEquivarianceWeight {
                loss = loss + Tensor.mse(vae.decode(Self.halve(z)), Self.halve(x)) * weight
            }
            checkpoint.zeroGradients()
            loss.backward()
            clipGradients(checkpoint.optimizer.parameters, maxNorm: 1)
            checkpoint.optimizer.update()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            window.append((Double(loss.item), Double(mse.item), seconds))
            let done = checkpoint.step
            if done % 25 == 0 || done == steps {
                let n = Double(window.count)
                let meanMSE = window.map(\.mse).reduce(0, +) / n
                try checkpoint.log(
                    [
                        "step": Double(done), "loss": window.map(\.loss).reduce(0, +) / n, "mse": meanMSE,
                        "psnr": Self.psnr(mse: meanMSE), "seconds": window.map(\.seconds).reduce(0, +) / n
                    ],
                    header: ["step", "loss", "mse", "psnr", "seconds"])
                report(
                    String(
                        format: "vae step %d: loss %.5f, train PSNR %.2f dB, %.2f s/step", done,
                        window.map(\.loss).reduce(0, +) / n, Self.psnr(mse: meanMSE),
                        window.map(\.seconds).reduce(0, +) / n))
                window = []
            }
            if done % saveEvery == 0 || done == steps { try checkpoint.save() }
        }
    }

    /// 2x2 average pooling of every channel: a frozen convolution of stride 2.
    static func halve(_ x: Tensor) -> Tensor {
        let c = x.shape[1]
        var weights = [Float](repeating: 0, count: c * c * 4)
        for channel in 0..<c { for tap in 0..<4 { weights[(channel * c + channel) * 4 + tap] = 0.25 } }
        return x.conv2d(Tensor(weights, shape: [c, c, 2, 2]), stride: 2)
    }

    /// 1 / the standard deviation of posterior samples over `count` scenes: the factor that gives the
    /// UNet unit-variance latents (Stable Diffusion's 0.18215 was found the same way).
    public static func scalingFactor(_ vae: AutoencoderKL, catalog: EmojiCatalog, count: Int = 512) -> Float {
        let scenes = SceneGenerator(
            catalog: catalog, subjects: catalog.subjects, side: vae.config.sampleSize, seed: evaluationSeed &+ 1)
        var random = RandomGenerator(seed: 5)
        var values: [Float] = []
        withoutGradients {
            for start in stride(from: 0, to: count, by: 64) {
                let (mean, logVariance) = vae.encode(scenes.batch(Array(start..<min(count, start + 64))).images)
                values += vae.sample(mean: mean, logVariance: logVariance, using: &random).scalars
            }
        }
        let m = values.reduce(0, +) / Float(values.count)
        let variance = values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Float(values.count)
        return 1 / variance.squareRoot()
    }

    /// Writes the scaling factor into the folder's config.json.
    public static func storeScalingFactor(_ factor: Float, in folder: URL) throws {
        let url = folder.appendingPathComponent("config.json")
        guard var config = (try JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any] else {
            throw TrainingError("\(url.path) is not a JSON object")
        }
        config["scaling_factor"] = Double(factor)
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(
            to: url, options: .atomic)
    }

    /// PSNR in dB of images in 0...1 from the mean squared error of the same images in −1...1.
    public static func psnr(mse: Double) -> Double { 10 * log10(4 / max(mse, 1e-12)) }

    /// Reconstruction PSNR (from the posterior mean) on `count` held-out scenes.
    public static func evaluate(_ vae: AutoencoderKL, catalog: EmojiCatalog, count: Int = 500, batch: Int = 50)
        -> Double
    {
        let scenes = SceneGenerator(
            catalog: catalog, subjects: catalog.subjects, side: Recipe.imageSide, seed: evaluationSeed)
        var total = 0.0
        withoutGradients {
            for start in stride(from: 0, to: count, by: batch) {
                let x = scenes.batch(Array(start..<min(count, start + batch))).images
                let reconstruction = vae.decode(vae.encode(x).mean).clamped(-1, 1)
                total += Double(Tensor.mse(reconstruction, x).item) * Double(x.shape[0])
            }
        }
        return psnr(mse: total / Double(count))
    }
}

/// Learning-rate schedules.
public enum Schedule {
    /// Linear warm-up over the first 2% (at most 200 steps), then cosine decay to a tenth.
    public static func warmupCosine(step: Int, total: Int, peak: Float) -> Float {
        let warmup = max(1, min(200, total / 50))
        if step < warmup { return peak * Float(step + 1) / Float(warmup) }
        let progress = Float(step - warmup) / Float(max(1, total - warmup))
        return peak * (0.1 + 0.9 * 0.5 * (1 + cos(Float.pi * min(progress, 1))))
    }
}
