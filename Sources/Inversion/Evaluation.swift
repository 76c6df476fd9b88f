import Diffusion
import Foundation
import Numerics

/// Measuring progress without training: DVAR's evaluation loss on fixed items, and the g(t) profile.
extension InversionSession {
    /// The mean denoising loss on the fixed evaluation items, with the current vectors.
    public func evaluationLoss() throws -> Float {
        let items = try evaluationItemLosses()
        return items.reduce(0, +) / Float(items.count)
    }

    /// The timesteps of the fixed evaluation items, in their order (empty before the first evaluation).
    public var evaluationTimesteps: [Int] { evaluationItems?.timesteps ?? [] }

    /// The denoising loss of each fixed evaluation item (in the items' order: timesteps T/8 … 7T/8
    /// shuffled), with the current vectors.
    public func evaluationItemLosses() throws -> [Float] {
        if evaluationItems == nil {
            let saved = generator
            defer { generator = saved }
            generator = RandomGenerator(seed: 0xD7A2)  // a fixed seed of its own: the items never depend on training
            let T = pipeline.schedule.trainSteps
            // Four timesteps spread over the schedule, in a fixed shuffled order.
            let timesteps = [T / 8, 3 * T / 8, 5 * T / 8, 7 * T / 8].shuffled(using: &generator)
            let (ids, sample, target) = try batch(size: 4, timesteps: timesteps)
            evaluationItems = (ids, sample, target, timesteps)
        }
        guard let items = evaluationItems else { return [.nan] }
        return try withoutGradients {
            let context = try conditioning(items.ids)
            let prediction = inBatchShares(items.timesteps.count) { range in
                pipeline.unet(
                    items.sample.batchRows(range), timesteps: items.timesteps[range].map(Float.init),
                    context: context.batchRows(range))
            }
            let count = items.timesteps.count
            let per = prediction.count / count
            let (p, q) = (prediction.data, items.target.data)
            return (0..<count).map { b in
                var s = 0.0
                for i in (b * per)..<((b + 1) * per) { s += Double(p[i] - q[i]) * Double(p[i] - q[i]) }
                return Float(s / Double(per))
            }
        }
    }

    /// Measures and records the evaluation loss at the current step.
    @discardableResult
    public func recordEvaluation() throws -> Float {
        let loss = try evaluationLoss()
        evaluationHistory.append((stepCount, loss))
        return loss
    }

    /// DVAR's stopping rule: the variance of the last `window` evaluation losses is below `eps`
    /// times the variance of all of them.
    public func dvarSaysStop(window: Int, eps: Double) -> Bool {
        DVAR.settled(evaluationHistory.map { Double($0.loss) }, window: window, eps: eps)
    }

    /// g(t) under each definition: the mean and standard deviation of ‖∇_c‖ over `samples` draws
    /// (image, template, noise) at each timestep, with the current vectors, changing nothing.
    /// `norm` and `mse` always; `jacobian` when `probes` > 0 (that many backward passes per draw).
    public func profile(
        timesteps: [Int], samples: Int, probes: Int = 0, seed: UInt64 = 1,
        onPoint: (Int) throws -> Void = { _ in }
    ) throws -> [GradientDefinition: [ProfilePoint]] {
        guard concept != nil, let vectors else { throw InversionError.noConcept }
        guard samples >= 1 else { throw InversionError("samples must be at least 1") }
        for t in timesteps where !(0..<pipeline.schedule.trainSteps).contains(t) {
            throw InversionError("timestep \(t) is outside the schedule's 0...\(pipeline.schedule.trainSteps - 1)")
        }
        let saved = generator
        defer {
            generator = saved
            vectors.grad = nil
        }
        generator = RandomGenerator(seed: seed)
        var probeGenerator = RandomGenerator(seed: seed ^ 0x1AC0_B1A5)
        var points: [GradientDefinition: [ProfilePoint]] = [:]
        for (index, t) in timesteps.enumerated() {
            var norms: [GradientNorms] = []
            var probeErrors: [Double] = []
            for _ in 0..<samples {
                let (ids, sample, target) = try batch(size: 1, timesteps: [t])
                var measured = try lossAndGradients(ids: ids, sample: sample, timesteps: [t], target: target).norms
                vectors.grad = nil
                if probes > 0 {
                    let estimate = try jacobianEstimates(
                        ids: ids, sample: sample, timesteps: [t], probes: probes, using: &probeGenerator)[0]
                    measured[0].jacobian = estimate.value
                    probeErrors.append(estimate.standardError)
                }
                norms += measured
            }
            for g in GradientDefinition.allCases where g.comesWithTheLoss || probes > 0 {
                let values = norms.map { $0.value(g) }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance =
                    values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(values.count - 1, 1))
                let probeError = g == .jacobian ? probeErrors.reduce(0, +) / Double(probeErrors.count) : nil
                points[g, default: []].append(
                    ProfilePoint(t: t, mean: mean, std: variance.squareRoot(), probeError: probeError))
            }
            try onPoint(index)
        }
        return points
    }
}

/// DVAR's rule (Voronov et al., 2023): training has converged when the variance of the last
/// `window` evaluation losses falls below `eps` times the variance of all of them.
public enum DVAR {
    public static func settled(_ losses: [Double], window: Int, eps: Double) -> Bool {
        guard losses.count > window, window >= 2 else { return false }
        func variance(_ v: ArraySlice<Double>) -> Double {
            let mean = v.reduce(0, +) / Double(v.count)
            return v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
        }
        return variance(losses.suffix(window)) < eps * variance(losses[...])
    }
}
