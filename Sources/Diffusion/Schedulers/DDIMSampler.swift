import Foundation
import Numerics

/// Deterministic DDIM sampling (η = 0) with diffusers' timestep spacing and `steps_offset`.
public struct DDIMSampler: Sendable {
    public let schedule: NoiseSchedule
    public let timesteps: [Int]
    let stride: Int

    public init(schedule: NoiseSchedule, steps: Int) throws {
        guard steps >= 1 && steps <= schedule.trainSteps else {
            throw ModelError("DDIM steps must be between 1 and \(schedule.trainSteps), not \(steps)")
        }
        self.schedule = schedule
        let T = schedule.trainSteps
        stride = T / steps
        switch schedule.spacing {
        case "trailing":
            // numpy's arange(T, 0, -T/steps) by index, so rounding never adds a step; round half to even as numpy.
            let ratio = Double(T) / Double(steps)
            timesteps = (0..<steps).map { Int((Double(T) - Double($0) * ratio).rounded(.toNearestOrEven)) - 1 }
        case "linspace":
            timesteps = NoiseSchedule.linspace(0, Double(T - 1), steps).map { Int($0.rounded(.toNearestOrEven)) }
                .reversed()
        default:
            timesteps = (0..<steps).map { $0 * (T / steps) + schedule.stepsOffset }.reversed()
        }
    }

    /// One step from `sample` at timestep `t` given the model's output there.
    public func step(_ output: Tensor, t: Int, sample: Tensor) -> Tensor {
        let previous = t - stride
        let alpha = schedule.alphasCumprod[min(max(t, 0), schedule.trainSteps - 1)]
        let alphaPrevious = previous >= 0 ? schedule.alphasCumprod[previous] : schedule.finalAlphaCumprod
        let (a, b) = (Float(alpha.squareRoot()), Float((1 - alpha).squareRoot()))
        let x0: Tensor
        let epsilon: Tensor
        switch schedule.prediction {
        case .epsilon:
            x0 = (sample - output * b) * (1 / a)
            epsilon = output
        case .velocity:
            x0 = sample * a - output * b
            epsilon = output * a + sample * b
        }
        return x0 * Float(alphaPrevious.squareRoot()) + epsilon * Float((1 - alphaPrevious).squareRoot())
    }

    /// The first of the timesteps at or below `level`: where sampling from a picture noised to about
    /// `level` starts (as diffusers' image-to-image starts part-way); nil when `level` is below all.
    public func start(atMost level: Int) -> Int? { timesteps.first { $0 <= level } }

    /// Samples from `latents` with classifier-free guidance: ε = ε_u + w (ε_c − ε_u), the model
    /// run once on the batch [unconditional, conditional] (in shares, one per thread). `onStep` may
    /// throw to stop early.
    /// - Parameter start: take only the timesteps at or below it (`latents` noised to `start(atMost:)`).
    public func sample(
        _ latents: Tensor, unet: UNet2DConditionModel, conditional: Tensor, unconditional: Tensor,
        guidance: Float, from start: Int? = nil, onStep: (Int) throws -> Void = { _ in }
    ) throws -> Tensor {
        try withoutGradients {
            var x = latents
            let batch = x.shape[0]
            let context = Tensor.concatenate([unconditional, conditional], axis: 0)
            for (index, t) in timesteps.enumerated() where t <= start ?? Int.max {
                let pair = Tensor.concatenate([x, x], axis: 0)
                let both = inBatchShares(2 * batch) { range in
                    unet(
                        pair.batchRows(range), timesteps: Array(repeating: Float(t), count: range.count),
                        context: context.batchRows(range))
                }.chunked(2, axis: 0)
                let guided = both[0] + (both[1] - both[0]) * guidance
                x = step(guided, t: t, sample: x)
                try onStep(index)
            }
            return x
        }
    }
}
