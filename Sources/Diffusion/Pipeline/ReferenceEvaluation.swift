import Foundation
import Numerics

/// The fixture format of ../shared/fixtures (keys such as `text.last_hidden_state`, `unet.out`,
/// `grad.token_embeddings`, `ddim.final_latents`): from a reference file's inputs, computes every
/// output whose inputs are present, under the same names. `gradti eval`, `gradti check` and the
/// parity tests all use this one definition.
public enum ReferenceEvaluation {
    /// Forward outputs must be within 1e-4 relative L2 error; gradients and DDIM results within 1e-3.
    public static func tolerance(_ key: String) -> Double {
        key.hasPrefix("grad.") || key.hasPrefix("ddim.") ? 1e-3 : 1e-4
    }

    public static func evaluate(
        _ pipeline: StableDiffusionPipeline, inputs file: SafeTensorsFile,
        guidance: Float = 7.5
    ) throws -> [(String, Tensor)] {
        func has(_ keys: String...) -> Bool { keys.allSatisfy(file.names.contains) }
        var out: [(String, Tensor)] = []
        let text = pipeline.textEncoder
        let unet = pipeline.unet
        let vae = pipeline.vae
        let schedule = pipeline.schedule

        out.append(
            (
                "scheduler.alphas_cumprod",
                Tensor(schedule.alphasCumprod.map(Float.init), shape: [schedule.alphasCumprod.count])
            ))
        if has("text.input_ids") {
            let ids = try file.indices("text.input_ids")
            let encoded = withoutGradients { text.conditioning(ids) }
            out.append(("text.last_hidden_state", encoded.context))
            if let pooled = encoded.pooled { out.append(("text.pooler_output", pooled)) }
        }
        if has("text.uncond_input_ids") {
            let ids = try file.indices("text.uncond_input_ids")
            out.append(("text.uncond_last_hidden_state", withoutGradients { text.conditioning(ids).context }))
        }
        if has("unet.x0", "unet.noise", "unet.timestep") {
            let (x0, noise, t) = (
                try file.tensor("unet.x0"), try file.tensor("unet.noise"), try file.indices("unet.timestep").values
            )
            out.append(("unet.sample", schedule.addNoise(x0, noise: noise, timesteps: t)))
            out.append(("unet.target", schedule.target(x0: x0, noise: noise, timesteps: t)))
        }
        if has("unet.sample", "unet.timestep", "text.last_hidden_state") {
            let sample = try file.tensor("unet.sample")
            let timesteps = try file.indices("unet.timestep").values.map(Float.init)
            let context = try file.tensor("text.last_hidden_state")
            context.requiresGrad = true
            let prediction = unet(sample, timesteps: timesteps, context: context)
            out.append(("unet.out", prediction.detached()))
            if has("unet.target") {
                let target = try file.tensor("unet.target")
                let loss = Tensor.mse(prediction, target)
                loss.backward()
                out.append(("unet.loss", loss.detached().reshaped([1])))
                if let grad = context.grad { out.append(("grad.encoder_hidden_states", grad)) }
                if has("text.input_ids") {
                    // The gradient textual inversion follows: to the token embeddings, through the text encoder.
                    let ids = try file.indices("text.input_ids")
                    let embeddings = text.tokenEmbeddings(ids).detached()
                    embeddings.requiresGrad = true
                    let encoded = text.conditioning(tokenEmbeddings: embeddings, ids: ids).context
                    Tensor.mse(unet(sample, timesteps: timesteps, context: encoded), target).backward()
                    if let grad = embeddings.grad { out.append(("grad.token_embeddings", grad)) }
                }
            }
        }
        if has("vae.image") {
            let image = try file.tensor("vae.image")
            let (mean, logVariance) = withoutGradients { vae.encode(image) }
            out += [("vae.posterior_mean", mean), ("vae.posterior_logvar", logVariance)]
        }
        if has("vae.latents") {
            let latents = try file.tensor("vae.latents")
            out.append(("vae.decoded", withoutGradients { vae.decode(latents) }))
        }
        if has("ddim.initial_latents", "ddim.timesteps", "text.last_hidden_state", "text.uncond_last_hidden_state") {
            let steps = try file.entry("ddim.timesteps").shape.reduce(1, *)
            let sampler = try DDIMSampler(schedule: schedule, steps: steps)
            // The conditional branch is the first prompt, as the fixture's README says.
            let prompts = try file.tensor("text.last_hidden_state")
            let first = prompts.chunked(prompts.shape[0], axis: 0)[0]
            let latents = try sampler.sample(
                try file.tensor("ddim.initial_latents"), unet: unet, conditional: first,
                unconditional: try file.tensor("text.uncond_last_hidden_state"), guidance: guidance)
            out.append(("ddim.final_latents", latents))
            out.append(("ddim.image", withoutGradients { vae.decode(latents * (1 / vae.config.scalingFactor)) }))
        }
        return out
    }

    /// ‖ours − reference‖ / ‖reference‖ for every computed key that the reference holds.
    public static func compare(_ computed: [(String, Tensor)], with file: SafeTensorsFile) throws -> [(
        key: String, error: Double, tolerance: Double
    )] {
        try computed.compactMap { key, tensor in
            guard file.names.contains(key) else { return nil }
            let reference = try file.doubles(key)
            guard reference.count == tensor.count else { return (key, .infinity, tolerance(key)) }
            var difference = 0.0
            var norm = 0.0
            for (a, b) in zip(tensor.scalars, reference) {
                difference += (Double(a) - b) * (Double(a) - b)
                norm += b * b
            }
            return (key, difference.squareRoot() / max(norm.squareRoot(), 1e-30), tolerance(key))
        }
    }
}
