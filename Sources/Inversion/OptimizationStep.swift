import Dispatch
import Foundation
import Numerics

extension InversionSession {
    /// One optimisation step: `knobs.accumulate` batches whose gradients are averaged, clipped if asked,
    /// and one AdamW update at the scheduled rate. `shouldStop` is asked between batches and before the
    /// update: when it throws, the step is dropped whole and the session is as it was.
    @discardableResult
    public func step(shouldStop: () throws -> Void = {}) throws -> StepRecord {
        guard let vectors, let optimizer else { throw InversionError.noConcept }
        let started = DispatchTime.now().uptimeNanoseconds
        let savedGenerators = (generator, timestepGenerator)
        let savedSampler = sampler
        let knobs = settings.knobs
        do {
            vectors.grad = nil
            var (drawn, losses, measuredNorms): ([Int], [Float], [GradientNorms]) = ([], [], [])
            for part in 0..<knobs.accumulate {
                let timesteps = (0..<settings.batch).map { _ in sampler.sample(using: &timestepGenerator) }
                let (ids, sample, target) = try batch(size: settings.batch, timesteps: timesteps)
                let (loss, norms) = try lossAndGradients(
                    ids: ids, sample: sample, timesteps: timesteps, target: target, weights: lossWeights(timesteps))
                var measured = norms
                if case .adaptive(_, _, _, .jacobian) = sampler.strategy {
                    // Probes of their own, drawn from the seed, the step and the batch: a resumed run draws
                    // the same.
                    var probes = RandomGenerator(
                        seed: settings.seed ^ 0x1AC0_B1A5 &+ UInt64(stepCount) &* 7919 &+ UInt64(part) &* 104_729)
                    let estimates = try jacobianEstimates(
                        ids: ids, sample: sample, timesteps: timesteps, probes: settings.probes, using: &probes)
                    for (i, estimate) in estimates.enumerated() { measured[i].jacobian = estimate.value }
                }
                (drawn, losses, measuredNorms) = (drawn + timesteps, losses + [loss], measuredNorms + measured)
                try shouldStop()
            }
            if let gradient = vectors.grad {
                var scale = 1 / Double(knobs.accumulate)
                if let clip = knobs.clipNorm {
                    var sum = 0.0
                    for i in 0..<gradient.count { sum += Double(gradient.data[i]) * Double(gradient.data[i]) }
                    let norm = sum.squareRoot() * scale
                    if norm > clip { scale *= clip / norm }
                }
                if scale != 1 { for i in 0..<gradient.count { gradient.data[i] *= Float(scale) } }
            }
            for (t, measured) in zip(drawn, measuredNorms) { sampler.observe(t: t, norms: measured) }
            optimizer.learningRate = knobs.learningRate(
                base: settings.learningRate, batch: settings.batch, step: stepCount)
            optimizer.update()
            vectors.grad = nil
            stepCount += 1
            let record = StepRecord(
                step: stepCount, loss: losses.reduce(0, +) / Float(losses.count), timesteps: drawn,
                gradientNorms: measuredNorms, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            history.append(record)
            return record
        } catch {
            (generator, timestepGenerator) = savedGenerators
            sampler = savedSampler
            vectors.grad = nil
            throw error
        }
    }

    /// Each sample's loss weight: importance weighting's 1 / (T · p(t)) and Min-SNR-γ's, multiplied;
    /// nil when neither is on.
    func lossWeights(_ timesteps: [Int]) -> [Float]? {
        var weights: [Float]?
        if settings.importanceWeighting {
            weights = timesteps.map { Float(1 / (Double(sampler.trainSteps) * max(sampler.probability($0), 1e-12))) }
        }
        if let gamma = settings.knobs.minSNRGamma {
            let snr = pipeline.schedule.minSNRWeights(timesteps, gamma: gamma)
            weights = zip(weights ?? Array(repeating: 1, count: snr.count), snr).map { $0 * $1 }
        }
        return weights
    }
}
