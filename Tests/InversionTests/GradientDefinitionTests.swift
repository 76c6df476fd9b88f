import Diffusion
import Foundation
import Numerics
import Testing

@testable import Inversion

@Suite struct GradientDefinitionTests {
    /// ‖∇_c‖e‖‖ (Eq. 4) and ‖∇_c mse‖ per sample, computed the long way: one sample at a time,
    /// ∇_c Σe² by backpropagation, then ∇‖e‖ = ∇Σe² / (2‖e‖) and ∇mse = ∇Σe² / N.
    static func direct(_ s: InversionSession, ids: IndexTensor, sample: Tensor, timesteps: [Int], target: Tensor)
        throws -> [GradientNorms]
    {
        let length = ids.shape[1]
        return try (0..<sample.shape[0]).map { b in
            let row = IndexTensor(Array(ids.values[(b * length)..<((b + 1) * length)]), shape: [1, length])
            let c = try s.conditioning(row).detached()
            c.requiresGrad = true
            let error =
                s.pipeline.unet(sample.batchRows(b..<(b + 1)), timesteps: [Float(timesteps[b])], context: c)
                - target.batchRows(b..<(b + 1))
            let squares = (error * error).sum()
            squares.backward()
            let gradient = c.grad!.scalars.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            let norm = Double(squares.item).squareRoot()
            return GradientNorms(norm: gradient / (2 * norm), mse: gradient / Double(error.count))
        }
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 2e-3 * max(abs(a), abs(b)) }

    @Test func bothDefinitionsMatchTheirDirectComputationAndIgnoreLossWeights() throws {
        let s = try session(batch: 2)
        let timesteps = [40, 700]
        let (ids, sample, target) = try s.batch(size: 2, timesteps: timesteps)
        let expected = try Self.direct(s, ids: ids, sample: sample, timesteps: timesteps, target: target)
        for weights in [nil, [Float(0.25), 3]] {
            let (_, norms) = try s.lossAndGradients(
                ids: ids, sample: sample, timesteps: timesteps, target: target, weights: weights)
            s.vectors?.grad = nil
            for (got, want) in zip(norms, expected) {
                #expect(Self.close(got.norm, want.norm), "norm \(got.norm) vs \(want.norm), weights \(weights ?? [])")
                #expect(Self.close(got.mse, want.mse), "mse \(got.mse) vs \(want.mse), weights \(weights ?? [])")
            }
        }
        // The two differ by N / (2‖e‖), so their ratio differs between samples.
        #expect(!Self.close(expected[0].norm / expected[0].mse, expected[1].norm / expected[1].mse))
    }

    @Test func adaptiveLearnsFromItsOwnDefinition() throws {
        for g in GradientDefinition.allCases {
            var sampler = try TimestepSampler(.adaptive(bins: 10, floor: 0.1, ema: 1, g: g), trainSteps: 1000)
            sampler.observe(t: 5, norms: GradientNorms(norm: 2, mse: 7, jacobian: 11))
            #expect(sampler.estimates[0] == [.norm: 2, .mse: 7, .jacobian: 11][g])
        }
    }

    @Test func aProfileRecordsEveryDefinitionAndStrategiesStartFromTheirs() throws {
        let s = try session()
        let measured = try s.profile(timesteps: [100, 500, 900], samples: 1, probes: 2)
        #expect(Set(measured.keys) == Set(GradientDefinition.allCases))
        s.recordProfile(measured, label: "test")
        #expect(s.profiles.map(\.definition) == GradientDefinition.allCases)
        for g in GradientDefinition.allCases {
            try s.setStrategy(.highGrad(width: 1, g: g))
            let top = measured[g]!.max { $0.mean < $1.mean }!.t
            #expect(s.sampler.allowed == top..<(top + 1))
        }
    }

    @Test(arguments: [
        ("adaptive", TimestepStrategy.adaptive(bins: 20, floor: 0.1, ema: 0.1, g: .norm)),
        ("adaptive-mse", .adaptive(bins: 20, floor: 0.1, ema: 0.1, g: .mse)),
        ("highgrad-mse", .highGrad(width: 100, g: .mse)), ("tpeak", .highGrad(width: 1, g: .norm)),
        ("tpeak-mse", .highGrad(width: 1, g: .mse))
    ])
    func shortNamesCarryTheDefinition(name: String, strategy: TimestepStrategy) throws {
        #expect(try TimestepStrategy(shortName: name, trainSteps: 1000) == strategy)
        #expect(strategy.shortName(trainSteps: 1000) == name)
        #expect(throws: StrategyError.self) { try TimestepStrategy(shortName: "350-450-mse", trainSteps: 1000) }
    }

    /// Strategies and profiles written before g had definitions measured the MSE's gradient.
    @Test func olderFilesReadAsMSE() throws {
        #expect(
            try InversionSession.decode("adaptive 20 0.1 0.1") == .adaptive(bins: 20, floor: 0.1, ema: 0.1, g: .mse))
        #expect(try InversionSession.decode("highgrad 100") == .highGrad(width: 100, g: .mse))
        for strategy in [TimestepStrategy.defaultAdaptive, .defaultHighGrad, .highGrad(width: 3, g: .mse)] {
            #expect(try InversionSession.decode(InversionSession.encode(strategy)) == strategy)
        }
        let old = try JSONDecoder().decode(Profile.self, from: Data(#"{"label":"x","points":[]}"#.utf8))
        #expect(old.definition == .mse)
    }
}

@Suite struct SettingChangeTests {
    /// A new strategy or setting mid-run keeps AdamW's moments and the generators (it used to recreate
    /// AdamW and reseed the data stream); `startOver` is the explicit fresh start; each change is noted.
    @Test func changesMidRunKeepTheOptimiserAndGenerators() throws {
        let s = try session()
        try s.step()
        try s.step()
        let (moments, data, times) = (s.optimizer!.moments, s.generator.state, s.timestepGenerator.state)
        try s.setStrategy(.single(400))
        var settings = s.settings
        settings.learningRate = 1e-3
        settings.importanceWeighting = true
        try s.configure(settings)
        #expect(
            s.optimizer!.moments.step == moments.step
                && s.optimizer!.moments.first[0].scalars == moments.first[0].scalars)
        #expect(s.optimizer!.learningRate == 1e-3)
        #expect(s.generator.state == data && s.timestepGenerator.state == times)
        #expect(s.changes.map(\.step) == [2, 2] && s.changes[0].change.hasPrefix("strategy single"))
        #expect(s.changes[1].change.contains("lr=0.001") && s.changes[1].change.contains("reweight=true"))
        settings.seed += 1
        try s.configure(settings)
        #expect(s.generator.state != data && s.optimizer!.moments.step == moments.step)
        s.startOver()
        #expect(s.optimizer!.moments.step == 0 && s.changes.count == 4)
    }
}

@Suite struct JacobianProbeTests {
    /// Hutchinson's estimate agrees with the exact ‖J‖_F, summed over every output unit's row Jᵀe_i.
    @Test func probesEstimateTheJacobiansFrobeniusNorm() throws {
        let s = try session(batch: 1)
        let (ids, sample, _) = try s.batch(size: 1, timesteps: [300])
        let c = try s.conditioning(ids).detached()
        c.requiresGrad = true
        let prediction = s.pipeline.unet(sample, timesteps: [300], context: c)
        var exact = 0.0
        for i in 0..<prediction.count {
            c.grad = nil
            var unit = [Float](repeating: 0, count: prediction.count)
            unit[i] = 1
            prediction.backward(Tensor(unit, shape: prediction.shape), retainGraph: true)
            exact += c.grad!.scalars.map { Double($0) * Double($0) }.reduce(0, +)
        }
        exact = exact.squareRoot()
        var generator = RandomGenerator(seed: 8)
        let estimate = try s.jacobianEstimates(
            ids: ids, sample: sample, timesteps: [300], probes: 200, using: &generator)[0]
        #expect(estimate.standardError > 0 && estimate.standardError < 0.1 * estimate.value)
        #expect(abs(estimate.value - exact) < 4 * estimate.standardError + 0.02 * exact, "\(estimate) vs \(exact)")
        #expect(s.vectors?.grad == nil)
    }

    @Test func aProfileWithProbesAddsTheJacobianAndAdaptiveCanFollowIt() throws {
        let s = try session(batch: 2)
        let measured = try s.profile(timesteps: [100, 600], samples: 2, probes: 3)
        let jacobian = try #require(measured[.jacobian])
        #expect(jacobian.allSatisfy { $0.mean > 0 && ($0.probeError ?? -1) >= 0 })
        #expect(try s.profile(timesteps: [100], samples: 1)[.jacobian] == nil)
        s.recordProfile(measured, label: "start")
        try s.setStrategy(.adaptive(bins: 4, floor: 0.1, ema: 0.5, g: .jacobian))
        let record = try s.step()
        #expect(record.gradientNorms.allSatisfy { ($0.jacobian ?? 0) > 0 })
        #expect(throws: InversionError.self) {
            let fresh = try session()
            try fresh.setStrategy(.highGrad(width: 10, g: .jacobian))
        }
    }
}
