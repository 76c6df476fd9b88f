import Diffusion
import Foundation
import Graphics
import Numerics

/// Can the UNet restore a real scene from a given noise level? Scenes of its training subjects are
/// encoded, noised to each level, and sampled back with DDIM from there (guided by their captions).
/// Where the subject falls apart tells what the UNet lacks: detail (already at low levels) or the
/// subject's shape (only from high levels). Each level's PSNR against the real scenes makes it a figure.
public enum Restoration {
    public struct Result {
        /// The levels sampled from (DDIM timesteps) and the PSNR of their restorations (of the mean
        /// squared error), in dB.
        public var levels: [Int], psnr: [Double]
        /// The real scenes in the first row, then one row of restorations per level.
        public var grid: Image
    }

    public static func run(
        pipeline: StableDiffusionPipeline, catalog: EmojiCatalog, subjects: [EmojiSubject], levels: [Int],
        count: Int = 8, guidance: Float = 5, steps: Int = 30
    ) throws -> Result {
        let scenes = SceneGenerator(
            catalog: catalog, subjects: subjects, side: pipeline.vae.config.sampleSize, seed: 0x6E1)
        let (images, captions, real) = scenes.batch(Array(0..<count))
        let sampler = try DDIMSampler(schedule: pipeline.schedule, steps: steps)
        let starts = levels.compactMap(sampler.start(atMost:))
        var cells = real.map(\.image)
        var labels = real.map { String($0.subject.name.prefix(16)) }
        var psnr: [Double] = []
        try withoutGradients {
            let latents = pipeline.vae.encode(images).mean * pipeline.vae.config.scalingFactor
            let conditional = pipeline.encode(captions)
            let unconditional = pipeline.encode(Array(repeating: "", count: count))
            for start in starts {
                var random = RandomGenerator(seed: UInt64(start))
                let noisy = pipeline.schedule.addNoise(
                    latents, noise: Tensor.randn(latents.shape, using: &random), timesteps: [start])
                let restored = try sampler.sample(
                    noisy, unet: pipeline.unet, conditional: conditional, unconditional: unconditional,
                    guidance: guidance, from: start)
                let decoded = pipeline.vae.decode(restored * (1 / pipeline.vae.config.scalingFactor)).clamped(-1, 1)
                psnr.append(VAETrainer.psnr(mse: Double(Tensor.mse(decoded, images).item)))
                cells += decoded.chunked(count, axis: 0).map { Image(tensor: $0) }
                labels += Array(repeating: "from t=\(start)", count: count)
            }
        }
        return Result(levels: starts, psnr: psnr, grid: Canvas.labelledGrid(cells, labels: labels, columns: count))
    }
}
