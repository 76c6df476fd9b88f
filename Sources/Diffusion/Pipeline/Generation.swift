import Graphics
import Numerics

/// Text-to-image sampling shared by sessions and training: DDIM with classifier-free guidance from
/// seeded noise, decoded by the VAE.
public enum Generation {
    /// One image per row of `conditional` [N, L, D] (`unconditional`: the negative prompt's states, same shape).
    /// `onStep` is called after each denoising step and may throw to stop.
    public static func images(
        unet: UNet2DConditionModel, vae: AutoencoderKL, schedule: NoiseSchedule, conditional: Tensor,
        unconditional: Tensor, steps: Int, guidance: Float, seed: UInt64,
        onStep: (Int) throws -> Void = { _ in }
    ) throws -> [Image] {
        let count = conditional.shape[0]
        let sampler = try DDIMSampler(schedule: schedule, steps: steps)
        var random = RandomGenerator(seed: seed)
        let side = unet.config.sampleSize
        let noise = Tensor.randn([count, unet.config.inChannels, side, side], using: &random)
        return try withoutGradients {
            let latents = try sampler.sample(
                noise, unet: unet, conditional: conditional, unconditional: unconditional,
                guidance: guidance, onStep: onStep)
            return vae.decode(latents * (1 / vae.config.scalingFactor)).chunked(count, axis: 0).map {
                Image(tensor: $0)
            }
        }
    }
}
