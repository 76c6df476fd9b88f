import Foundation

/// The learning-rate schedules of diffusers' `get_scheduler` (transformers' optimisation schedules), as
/// a factor of the base rate at each optimiser step.
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    case constant
    case linear
    case cosine
    /// Cosine with `cycles` hard restarts.
    case cosineWithRestarts(cycles: Int)
    /// (1 − progress)^power down to `LearningRateSchedule.polynomialEnd` of the base rate.
    case polynomial(power: Double)

    /// The base rate's share at polynomial's end (diffusers' `lr_end` 1e-7 over its default lr 1e-4).
    public static let polynomialEnd = 1e-3

    /// The names `optimizer schedule=` and `gradti invert --schedule` take, in the order help lists them.
    public static let names = ["constant", "linear", "cosine", "cosine_restarts", "polynomial"]

    /// The schedule called `name` (one of `names`); `cycles` and `power` serve the two that take them.
    public init(name: String, cycles: Int = 1, power: Double = 1) throws {
        switch name {
        case "constant": self = .constant
        case "linear": self = .linear
        case "cosine": self = .cosine
        case "cosine_restarts": self = .cosineWithRestarts(cycles: cycles)
        case "polynomial": self = .polynomial(power: power)
        default:
            throw InversionError(
                "\"\(name)\" is not a learning-rate schedule: use \(Self.names.joined(separator: ", "))")
        }
    }

    public var name: String {
        switch self {
        case .constant: "constant"
        case .linear: "linear"
        case .cosine: "cosine"
        case .cosineWithRestarts: "cosine_restarts"
        case .polynomial: "polynomial"
        }
    }

    /// The factor at optimiser step `step` (0 for the first), with `warmup` linear warm-up steps and the
    /// schedule spanning `horizon` steps in all (after it: the schedule's end value).
    public func factor(step: Int, warmup: Int, horizon: Int) -> Double {
        if step < warmup { return Double(step) / Double(max(1, warmup)) }
        let span = Double(max(1, horizon - warmup))
        let progress = Double(step - warmup) / span
        switch self {
        case .constant: return 1
        case .linear: return max(0, Double(horizon - step) / span)
        case .cosine: return max(0, 0.5 * (1 + cos(Double.pi * min(progress, 1))))
        case .cosineWithRestarts(let cycles):
            guard progress < 1 else { return 0 }
            return max(0, 0.5 * (1 + cos(Double.pi * (Double(cycles) * progress).truncatingRemainder(dividingBy: 1))))
        case .polynomial(let power):
            let end = Self.polynomialEnd
            guard step < horizon else { return end }
            return (1 - end) * pow(1 - progress, power) + end
        }
    }
}

/// How each optimiser step is taken beyond AdamW's rate: the schedule, accumulation, clipping and
/// Min-SNR weighting (the knobs of diffusers' and kohya's textual-inversion scripts).
public struct TrainingKnobs: Codable, Equatable, Sendable {
    public var schedule = LearningRateSchedule.constant
    public var warmup = 0
    /// The steps the schedule spans (its end); 0 with `constant`.
    public var horizon = 0
    /// Batches whose gradients are averaged into one optimiser step.
    public var accumulate = 1
    /// The largest L2 norm of the vectors' gradient (clipped to it); nil: no clipping.
    public var clipNorm: Double?
    /// γ of Min-SNR loss weighting (Hang et al., 2023); nil: the plain MSE.
    public var minSNRGamma: Double?
    /// diffusers' `scale_lr`: the base rate times batch × accumulate.
    public var scaleLR = false

    public init() {}

    public func validate() throws {
        guard (0...10_000_000).contains(warmup), (0...10_000_000).contains(horizon), (1...1024).contains(accumulate)
        else { throw InversionError("warmup and horizon must be 0 to 10,000,000 and accumulate 1 to 1024") }
        if schedule != .constant && horizon <= warmup {
            throw InversionError(
                "the \(schedule.name) schedule needs horizon=N, the steps it spans, beyond the warm-up's \(warmup)")
        }
        if case .cosineWithRestarts(let cycles) = schedule, !(1...1000).contains(cycles) {
            throw InversionError("cycles must be between 1 and 1000")
        }
        if case .polynomial(let power) = schedule, !(power > 0 && power <= 100) {
            throw InversionError("power must be in (0, 100]")
        }
        if let clipNorm, !(clipNorm > 0 && clipNorm.isFinite) { throw InversionError("clip must be positive") }
        if let gamma = minSNRGamma, !(gamma > 0 && gamma.isFinite) { throw InversionError("min_snr must be positive") }
    }

    /// The learning rate of optimiser step `step` for base rate `lr` and batch `batch`.
    public func learningRate(base lr: Float, batch: Int, step: Int) -> Float {
        let scaled = Double(lr) * (scaleLR ? Double(batch * accumulate) : 1)
        return Float(scaled * schedule.factor(step: step, warmup: warmup, horizon: horizon))
    }

    public var summary: String {
        var parts = ["schedule=\(schedule.name)"]
        if warmup > 0 { parts.append("warmup=\(warmup)") }
        if schedule != .constant { parts.append("horizon=\(horizon)") }
        if case .cosineWithRestarts(let cycles) = schedule { parts.append("cycles=\(cycles)") }
        if case .polynomial(let power) = schedule { parts.append("power=\(power)") }
        if accumulate > 1 { parts.append("accumulate=\(accumulate)") }
        if let clipNorm { parts.append("clip=\(clipNorm)") }
        if let minSNRGamma { parts.append("min_snr=\(minSNRGamma)") }
        if scaleLR { parts.append("scale_lr=true") }
        return parts.joined(separator: " ")
    }
}
