import Foundation
import Numerics

/// The forward diffusion process of a pipeline's scheduler config: betas, cumulative alphas,
/// adding noise, and the training target. Any diffusers scheduler config (DDIM, PNDM, DDPM, Euler,
/// …) defines the same schedule; gradti samples with DDIM whatever the class.
public struct NoiseSchedule: Sendable {
    public enum Prediction: String, Sendable {
        case epsilon
        case velocity = "v_prediction"
    }

    public let trainSteps: Int
    public let alphasCumprod: [Double]
    public let prediction: Prediction
    public let stepsOffset: Int
    public let spacing: String
    public let finalAlphaCumprod: Double

    public init(_ file: ConfigFile) throws {
        trainSteps = try file.int("num_train_timesteps", default: 1000, in: 1...100_000)
        // Betas are variances of added noise: in (0, 1), or alphas (1 − β) stop being positive.
        let start = try file.double("beta_start", default: 0.0001, in: 1e-12...0.999_999)
        let end = try file.double("beta_end", default: 0.02, in: start...0.999_999)
        let schedule = try file.choice(
            "beta_schedule", ["linear", "scaled_linear", "squaredcos_cap_v2"], default: "linear")
        prediction = Prediction(
            rawValue: try file.choice("prediction_type", ["epsilon", "v_prediction"], default: "epsilon"))!
        stepsOffset = try file.int("steps_offset", default: 0, in: 0...(trainSteps - 1))
        spacing = try file.choice("timestep_spacing", ["leading", "trailing", "linspace"], default: "leading")
        try file.requireDefault("trained_betas", [])
        try file.requireDefault("rescale_betas_zero_snr", [false, 0])
        try file.requireDefault("thresholding", [false, 0])
        try file.requireDefault("clip_sample", [false, 0])
        let betas = Self.betas(schedule, start: start, end: end, count: trainSteps)
        var product = 1.0
        alphasCumprod = betas.map { beta in
            product *= 1 - beta
            return product
        }
        // ᾱ that reaches 0 leaves no signal to denoise, and sampling divides by √ᾱ.
        guard let last = alphasCumprod.last, last > 0, last.isFinite else {
            throw file.fail(
                "beta_end",
                "with these betas over \(trainSteps) timesteps no signal is left at the last one (ᾱ reaches 0); lower "
                    + "beta_end or num_train_timesteps"
            )
        }
        finalAlphaCumprod = try file.bool("set_alpha_to_one", default: true) ? 1 : alphasCumprod[0]
    }

    /// Betas as diffusers computes them (in float32, as its schedulers do, then widened).
    static func betas(_ schedule: String, start: Double, end: Double, count: Int) -> [Double] {
        switch schedule {
        case "scaled_linear":
            return linspace(start.squareRoot(), end.squareRoot(), count).map { Double(Float($0) * Float($0)) }
        case "squaredcos_cap_v2":
            func alphaBar(_ t: Double) -> Double { pow(cos((t + 0.008) / 1.008 * .pi / 2), 2) }
            return (0..<count).map { i in
                Double(
                    Float(min(1 - alphaBar(Double(i + 1) / Double(count)) / alphaBar(Double(i) / Double(count)), 0.999))
                )
            }
        default:
            return linspace(start, end, count).map { Double(Float($0)) }
        }
    }

    static func linspace(_ a: Double, _ b: Double, _ n: Int) -> [Double] {
        n == 1 ? [a] : (0..<n).map { a + (b - a) * Double($0) / Double(n - 1) }
    }

    /// √ᾱ_t · x0 + √(1 − ᾱ_t) · ε, per sample.
    public func addNoise(_ x0: Tensor, noise: Tensor, timesteps: [Int]) -> Tensor {
        let (a, b) = coefficients(timesteps, batch: x0.shape[0])
        return x0 * a + noise * b
    }

    /// What the model learns to predict: ε, or v = √ᾱ ε − √(1 − ᾱ) x0.
    public func target(x0: Tensor, noise: Tensor, timesteps: [Int]) -> Tensor {
        guard prediction == .velocity else { return noise }
        let (a, b) = coefficients(timesteps, batch: x0.shape[0])
        return noise * a - x0 * b
    }

    /// Min-SNR-γ loss weights (Hang et al., 2023, "Efficient Diffusion Training via Min-SNR Weighting
    /// Strategy"): the low-noise steps, whose targets conflict with the others', weigh less, so training
    /// spends its updates on the steps that shape the picture. The weight of an MSE on this schedule's
    /// target: min(SNR, γ)/SNR for ε, min(SNR, γ)/(SNR + 1) for v, with SNR = ᾱ / (1 − ᾱ).
    public func minSNRWeights(_ timesteps: [Int], gamma: Double) -> [Float] {
        timesteps.map { t in
            let snr = alphasCumprod[t] / (1 - alphasCumprod[t])
            return Float(min(snr, gamma) / (prediction == .velocity ? snr + 1 : snr))
        }
    }

    /// [B, 1, 1, 1] tensors of √ᾱ_t and √(1 − ᾱ_t).
    private func coefficients(_ timesteps: [Int], batch: Int) -> (Tensor, Tensor) {
        let ts = timesteps.count == 1 ? Array(repeating: timesteps[0], count: batch) : timesteps
        let a = ts.map { Float(alphasCumprod[$0].squareRoot()) }
        let b = ts.map { Float((1 - alphasCumprod[$0]).squareRoot()) }
        return (Tensor(a, shape: [batch, 1, 1, 1]), Tensor(b, shape: [batch, 1, 1, 1]))
    }
}
