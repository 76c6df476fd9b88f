import Foundation
import Numerics
import TestSupport
import Testing

@testable import Diffusion

@Suite struct SchedulerTests {
    let reference: Reference

    init() throws {
        reference = try Reference(Fixtures.sdTinyFolder.appendingPathComponent("reference.safetensors"))
    }
    var schedule: NoiseSchedule {
        get throws { try NoiseSchedule(ConfigFile(sdTiny.appendingPathComponent("scheduler/scheduler_config.json"))) }
    }

    @Test func scheduleNoiseAndTarget() throws {
        #expect(
            try reference.error(
                Tensor(try schedule.alphasCumprod.map(Float.init), shape: [1000]), "scheduler.alphas_cumprod") < 1e-6)
        let timesteps = try reference.ids("unet.timestep").values
        let (x0, noise) = (try reference.tensor("unet.x0"), try reference.tensor("unet.noise"))
        #expect(
            try reference.error(try schedule.addNoise(x0, noise: noise, timesteps: timesteps), "unet.sample") < 1e-6)
        #expect(
            try reference.error(try schedule.target(x0: x0, noise: noise, timesteps: timesteps), "unet.target") < 1e-6)
    }

    /// Min-SNR-γ: full weight where SNR ≤ γ (the noisy steps), γ/SNR for ε above it; for v, min(SNR, γ)/(SNR + 1).
    @Test func minSNRWeights() throws {
        let schedule = try self.schedule
        let alphas = schedule.alphasCumprod
        let snr = { (t: Int) in alphas[t] / (1 - alphas[t]) }
        let noisy = try #require((0..<1000).first { snr($0) <= 5 })
        #expect(noisy > 100 && noisy < 400)
        let weights = schedule.minSNRWeights([0, noisy - 1, noisy, 999], gamma: 5)
        #expect(abs(Double(weights[0]) - 5 / snr(0)) < 1e-6 && weights[0] < 0.01)
        #expect(weights[1] < 1 && weights[1] > 0.9 && weights[2] == 1 && weights[3] == 1)
        let v = try NoiseSchedule(ConfigFile(values: ["prediction_type": "v_prediction"]))
        let vWeights = v.minSNRWeights([0, 999], gamma: 5)
        let vsnr = { (t: Int) in v.alphasCumprod[t] / (1 - v.alphasCumprod[t]) }
        #expect(
            abs(Double(vWeights[0]) - 5 / (vsnr(0) + 1)) < 1e-6
                && abs(Double(vWeights[1]) - vsnr(999) / (vsnr(999) + 1)) < 1e-6)
    }

    /// Image-to-image style: sampling from a level takes only the timesteps at or below it.
    @Test func ddimFromALevelTakesTheLaterSteps() throws {
        let unet = try UNet2DConditionModel(folder: sdTiny.appendingPathComponent("unet"))
        let sampler = try DDIMSampler(schedule: schedule, steps: 5)
        let steps = sampler.timesteps
        #expect(sampler.start(atMost: steps[2]) == steps[2] && sampler.start(atMost: steps[2] + 1) == steps[2])
        #expect(sampler.start(atMost: 999) == steps[0] && sampler.start(atMost: steps[4] - 1) == nil)
        let conditional = try reference.tensor("text.last_hidden_state").chunked(2, axis: 0)[0]
        let unconditional = try reference.tensor("text.uncond_last_hidden_state")
        let initial = try reference.tensor("ddim.initial_latents")
        var taken: [Int] = []
        let part = try sampler.sample(
            initial, unet: unet, conditional: conditional, unconditional: unconditional, guidance: 7.5,
            from: steps[2]
        ) { taken.append($0) }
        #expect(taken == [2, 3, 4])
        let whole = try sampler.sample(
            initial, unet: unet, conditional: conditional, unconditional: unconditional, guidance: 7.5, from: 999)
        #expect(
            try reference.error(whole, "ddim.final_latents") < 1e-3
                && reference.error(part, "ddim.final_latents") > 1e-2)
    }

    @Test func ddimWithGuidanceMatchesDiffusers() throws {
        let unet = try UNet2DConditionModel(folder: sdTiny.appendingPathComponent("unet"))
        let vae = try AutoencoderKL(folder: sdTiny.appendingPathComponent("vae"))
        let sampler = try DDIMSampler(schedule: schedule, steps: 5)
        #expect(sampler.timesteps == (try reference.ids("ddim.timesteps")).values)
        let conditional = try reference.tensor("text.last_hidden_state").chunked(2, axis: 0)[0]
        let latents = try sampler.sample(
            try reference.tensor("ddim.initial_latents"), unet: unet, conditional: conditional,
            unconditional: try reference.tensor("text.uncond_last_hidden_state"), guidance: 7.5)
        #expect(try reference.error(latents, "ddim.final_latents") < 1e-3)
        #expect(try reference.error(vae.decode(latents * (1 / vae.config.scalingFactor)), "ddim.image") < 1e-3)
    }

    @Test(arguments: [
        ("leading", 1, [901, 801, 701, 601, 501, 401, 301, 201, 101, 1]),
        ("trailing", 0, [999, 899, 799, 699, 599, 499, 399, 299, 199, 99]),
        ("linspace", 0, [999, 888, 777, 666, 555, 444, 333, 222, 111, 0])
    ])
    func timestepSpacing(spacing: String, offset: Int, expected: [Int]) throws {
        let file = ConfigFile(values: [
            "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
            "timestep_spacing": spacing, "steps_offset": offset
        ])
        #expect(try DDIMSampler(schedule: NoiseSchedule(file), steps: 10).timesteps == expected)
    }

    /// Found by the config fuzz harness: trailing spacing's float stride made one step too many.
    @Test(arguments: ["leading", "trailing", "linspace"])
    func everyStepCountGivesThatManyTimesteps(spacing: String) throws {
        let schedule = try NoiseSchedule(ConfigFile(values: ["timestep_spacing": spacing, "num_train_timesteps": 1000]))
        for steps in 1...1000 {
            let timesteps = try DDIMSampler(schedule: schedule, steps: steps).timesteps
            #expect(timesteps.count == steps && timesteps.allSatisfy { (0..<1000).contains($0) }, "\(spacing) \(steps)")
        }
    }

    /// Also found by fuzzing: betas that drive ᾱ to 0 leave nothing to denoise (and sampling divides by √ᾱ).
    @Test func aScheduleWithoutSignalIsRefused() {
        #expect {
            try NoiseSchedule(
                ConfigFile(values: [
                    "num_train_timesteps": 3601, "beta_schedule": "scaled_linear",
                    "beta_start": 0.00085, "beta_end": 0.5555
                ]))
        } throws: { String(describing: $0).contains("beta_end") && String(describing: $0).contains("no signal") }
    }

    @Test func unsupportedValuesNameTheKey() {
        #expect {
            try NoiseSchedule(ConfigFile(values: ["beta_schedule": "exotic"]))
        } throws: { String(describing: $0).contains("beta_schedule") && String(describing: $0).contains("exotic") }
        #expect {
            try NoiseSchedule(ConfigFile(values: ["prediction_type": "sample"]))
        } throws: { String(describing: $0).contains("prediction_type") }
    }
}
