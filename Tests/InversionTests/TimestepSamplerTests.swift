import Foundation
import Numerics
import Testing

@testable import Inversion

@Suite struct TimestepSamplerTests {
    @Test(arguments: [
        TimestepStrategy.range(0, 1000), .range(350, 450), .range(900, 1000), .range(0, 100), .single(400)
    ])
    func strategiesSampleOnlyTheirTimesteps(strategy: TimestepStrategy) throws {
        var sampler = try TimestepSampler(strategy, trainSteps: 1000)
        var generator = RandomGenerator(seed: 1)
        let draws = (0..<5000).map { _ in sampler.sample(using: &generator) }
        #expect(draws.allSatisfy { sampler.allowed.contains($0) })
        // They also cover what is allowed, not a corner of it.
        #expect(Set(draws).count >= min(sampler.allowed.count, 900))
        sampler.observe(t: 10, norm: 5)  // only adaptive learns
        #expect(sampler.estimates.isEmpty)
    }

    @Test func highGradPicksTheIntervalOfHighestProfiledG() throws {
        let profile = stride(from: 0, to: 1000, by: 50).map {
            ProfilePoint(t: $0, mean: exp(-pow(Double($0 - 400) / 120, 2)))
        }
        let sampler = try TimestepSampler(.highGrad(width: 100), trainSteps: 1000, profile: profile)
        #expect(sampler.allowed.contains(400) && sampler.allowed.count == 100)
    }

    /// With a planted g(t), adaptive sampling's bin frequencies follow (1 − floor) g / Σg + floor / B.
    @Test func adaptiveFollowsAPlantedGradientProfile() throws {
        let bins = 10
        let planted = (0..<bins).map { b in 1 + 9 * exp(-pow(Double(b) - 4, 2) / 2) }
        var sampler = try TimestepSampler(
            .adaptive(bins: bins, floor: 0.1, ema: 0.5), trainSteps: 1000,
            profile: (0..<bins).map { ProfilePoint(t: $0 * 100 + 50, mean: planted[$0]) })
        let expected = planted.map { 0.9 * $0 / planted.reduce(0, +) + 0.01 }
        #expect(zip(sampler.binProbabilities, expected).allSatisfy { abs($0 - $1) < 1e-12 })
        var generator = RandomGenerator(seed: 2)
        var counts = [Int](repeating: 0, count: bins)
        let n = 40_000
        for _ in 0..<n { counts[sampler.sample(using: &generator) / 100] += 1 }
        for b in 0..<bins {
            let frequency = Double(counts[b]) / Double(n)
            #expect(
                abs(frequency - expected[b]) < 4 * (expected[b] * (1 - expected[b]) / Double(n)).squareRoot() + 1e-3,
                "bin \(b): \(frequency) vs \(expected[b])")
        }
        // Observations move the estimate by the EMA rate.
        sampler.observe(t: 950, norm: planted[9] + 10)
        #expect(abs(sampler.estimates[9]! - (planted[9] + 5)) < 1e-12)
        #expect(abs(sampler.probability(451) * 100 - sampler.binProbabilities[4]) < 1e-12)
    }

    /// Every bin count from 1 to T cuts the schedule into non-empty bins that cover it, and sampling
    /// stays inside (bins=60 on 1000 timesteps used to make an empty last bin and crash the kernel).
    @Test(arguments: [1000, 37])
    func everyBinCountCutsTheScheduleIntoNonEmptyBins(trainSteps: Int) throws {
        var generator = RandomGenerator(seed: 3)
        for bins in 1...trainSteps {
            var sampler = try TimestepSampler(.adaptive(bins: bins, floor: 0.1, ema: 0.1), trainSteps: trainSteps)
            var next = 0
            for b in 0..<bins {
                let range = sampler.timesteps(ofBin: b)
                #expect(range.lowerBound == next && !range.isEmpty, "bins=\(bins): bin \(b) is \(range)")
                #expect(sampler.bin(of: range.lowerBound) == b && sampler.bin(of: range.upperBound - 1) == b)
                next = range.upperBound
            }
            #expect(next == trainSteps, "bins=\(bins) cover 0..<\(next)")
            sampler.observe(t: trainSteps - 1, norm: 3)
            for _ in 0..<20 {
                let t = sampler.sample(using: &generator)
                #expect((0..<trainSteps).contains(t), "bins=\(bins) drew \(t)")
            }
            // Summing p(t) costs T·B: checked on a few counts.
            if [1, 7, 60, 64, trainSteps - 1, trainSteps].contains(bins) {
                let total = (0..<trainSteps).map(sampler.probability).reduce(0, +)
                #expect(abs(total - 1) < 1e-9, "bins=\(bins): probabilities sum to \(total)")
            }
        }
    }

    /// A bin of probability 0 (floor 0, estimate 0) is never drawn.
    @Test func binsOfProbabilityZeroAreNeverDrawn() throws {
        let profile = (0..<64).map { ProfilePoint(t: $0 * 1000 / 64, mean: $0 % 2 == 0 ? 0 : 1) }
        let sampler = try TimestepSampler(.adaptive(bins: 64, floor: 0, ema: 0.1), trainSteps: 1000, profile: profile)
        var generator = RandomGenerator(seed: 4)
        for _ in 0..<20_000 {
            let t = sampler.sample(using: &generator)
            #expect(sampler.bin(of: t) % 2 == 1, "drew t = \(t) from an empty bin")
        }
    }

    /// Seeding from a profile averages the points of each bin (it used to keep the last one).
    @Test func aProfileSeedsEachBinWithTheMeanOfItsPoints() throws {
        let profile = [ProfilePoint(t: 10, mean: 1), ProfilePoint(t: 60, mean: 3), ProfilePoint(t: 150, mean: 7)]
        let sampler = try TimestepSampler(.adaptive(bins: 10, floor: 0.1, ema: 0.1), trainSteps: 1000, profile: profile)
        #expect(sampler.estimates[0] == 2)
        #expect(sampler.estimates[1] == 7)
        #expect(sampler.estimates[2] == nil)
    }
}

extension TimestepStrategy: CustomTestStringConvertible {
    public var testDescription: String { description }
}
