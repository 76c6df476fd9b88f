// Model config files (Diffusion.ConfigFile): JSON, then every config reader gradti has — the CLIP
// text and vision towers, the UNet, the VAE and the noise schedule — and DDIM's timesteps from the
// schedule. Parsing only: no model is built and no weight allocated.
//
// Input: a config.json's bytes.
//
// Properties: an accepted schedule has 0 < ᾱ_t ≤ 1, finite and non-increasing; DDIM has as many
// timesteps as asked, each within the schedule (plus its steps_offset).
import Diffusion
import Foundation

func setUp() {}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    guard let values = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] else { return 0 }
    let file = ConfigFile(values: values)
    if let text = try? CLIPTextModel.Config(file) {
        require(
            text.hiddenSize > 0 && text.heads > 0 && text.hiddenSize % text.heads == 0,
            "text config with \(text.heads) heads for \(text.hiddenSize)")
    }
    if let vision = try? CLIPVisionModel.Config(file) {
        require(
            vision.patchSize > 0 && vision.imageSize % vision.patchSize == 0,
            "vision config with patch \(vision.patchSize) for \(vision.imageSize)")
    }
    if let unet = try? UNetConfig(file) {
        require(
            !unet.blockChannels.isEmpty && unet.heads.count == unet.blockChannels.count,
            "UNet config with \(unet.heads.count) head counts for \(unet.blockChannels.count) blocks")
    }
    if let vae = try? AutoencoderKL.Config(file) {
        require(vae.downscale >= 1, "VAE downscale \(vae.downscale)")
    }
    if let schedule = try? NoiseSchedule(file) {
        let alphas = schedule.alphasCumprod
        require(alphas.count == schedule.trainSteps, "\(alphas.count) alphas for \(schedule.trainSteps) steps")
        require(alphas.allSatisfy { $0.isFinite && $0 > 0 && $0 <= 1 }, "an alpha-bar outside (0, 1]")
        require(zip(alphas, alphas.dropFirst()).allSatisfy { $0 >= $1 }, "alpha-bar increases")
        require(
            schedule.finalAlphaCumprod > 0 && schedule.finalAlphaCumprod <= 1,
            "final alpha-bar \(schedule.finalAlphaCumprod)")
        for steps in Set([1, 2, 3, 7, 50, schedule.trainSteps]) where steps <= schedule.trainSteps {
            guard let sampler = try? DDIMSampler(schedule: schedule, steps: steps) else {
                require(false, "DDIM refused \(steps) steps of a \(schedule.trainSteps)-step schedule")
                return 0
            }
            require(
                sampler.timesteps.count == steps,
                "DDIM (\(schedule.spacing)) made \(sampler.timesteps.count) timesteps for \(steps) of "
                    + "\(schedule.trainSteps): \(sampler.timesteps.prefix(8))"
            )
            require(
                sampler.timesteps.allSatisfy { $0 >= 0 && $0 < schedule.trainSteps + schedule.stepsOffset },
                "DDIM (\(schedule.spacing)) timestep outside 0..<\(schedule.trainSteps)+\(schedule.stepsOffset): "
                    + "\(sampler.timesteps.prefix(8))"
            )
        }
    }
    return 0
}
