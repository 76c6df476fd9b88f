import Foundation
import Numerics
import TestSupport
import Testing

@testable import Diffusion

@Suite struct RandomInitTests {
    static func moments(_ t: Tensor) -> (bound: Float, std: Float) {
        let values = t.scalars
        let mean = values.reduce(0, +) / Float(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)
        return (values.map(abs).max() ?? 0, variance.squareRoot())
    }

    @Test func fanInDrawsWeightsWithVarianceOneOverFanInAndZeroBiases() throws {
        let store = WeightStore(randomWithSeed: 1)
        let (_, std) = Self.moments(try store.tensor("block.proj.weight", [128, 64]))
        #expect(abs(std - 1 / 8) < 0.01)
        #expect(try store.tensor("block.proj.bias", [128]).scalars.allSatisfy { $0 == 0 })
        #expect(try store.tensor("block.norm1.weight", [64]).scalars.allSatisfy { $0 == 1 })
        #expect(try store.tensor("block.norm1.bias", [64]).scalars.allSatisfy { $0 == 0 })
    }

    @Test func pytorchDrawsWeightsAndBiasesUniformlyWithinOneOverRootFanIn() throws {
        let store = WeightStore(randomWithSeed: 1, initialization: RandomInit(scale: .pytorch))
        // A 3x3 convolution from 16 channels: fan-in 144, bound 1/12, standard deviation 1/(12√3).
        let (bound, std) = Self.moments(try store.tensor("conv.weight", [32, 16, 3, 3]))
        #expect(bound <= 1 / 12 && bound > 0.95 / 12)
        #expect(abs(std - 1 / (12 * Float(3).squareRoot())) < 0.003)
        // The bias takes its layer's fan-in, not its own shape's.
        let (biasBound, _) = Self.moments(try store.tensor("conv.bias", [32]))
        #expect(biasBound <= 1 / 12 && biasBound > 0.5 / 12)
        #expect(try store.tensor("conv_norm.weight", [32]).scalars.allSatisfy { $0 == 1 })
    }

    @Test func zeroedLayersStartAtZeroAndLeaveTheOthersDrawnAlike() throws {
        let scheme = RandomInit(scale: .pytorch) { $0.hasSuffix(".out") }
        let store = WeightStore(randomWithSeed: 2, initialization: scheme)
        #expect(try store.tensor("a.out.weight", [8, 8]).scalars.allSatisfy { $0 == 0 })
        #expect(try store.tensor("a.out.bias", [8]).scalars.allSatisfy { $0 == 0 })
        #expect(try store.tensor("a.in.weight", [8, 8]).scalars.contains { $0 != 0 })
    }
}
