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

    /// A tree with `shapes` declared in order, bound to random weights.
    static func drawn(_ shapes: KeyValuePairs<String, [Int]>, seed: UInt64, _ scheme: RandomInit = .fanIn) throws
        -> [String: Tensor]
    {
        let tree = ParameterTree()
        for (name, shape) in shapes { _ = tree.declare(name, shape) }
        try tree.bind(.random(seed: seed, scheme))
        return Dictionary(uniqueKeysWithValues: tree.named.map { ($0.name, $0.tensor) })
    }

    @Test func fanInDrawsWeightsWithVarianceOneOverFanInAndZeroBiases() throws {
        let t = try Self.drawn(
            [
                "block.proj.weight": [128, 64], "block.proj.bias": [128], "block.norm1.weight": [64],
                "block.norm1.bias": [64]
            ], seed: 1)
        let (_, std) = Self.moments(t["block.proj.weight"]!)
        #expect(abs(std - 1 / 8) < 0.01)
        #expect(t["block.proj.bias"]!.scalars.allSatisfy { $0 == 0 })
        #expect(t["block.norm1.weight"]!.scalars.allSatisfy { $0 == 1 })
        #expect(t["block.norm1.bias"]!.scalars.allSatisfy { $0 == 0 })
    }

    @Test func pytorchDrawsWeightsAndBiasesUniformlyWithinOneOverRootFanIn() throws {
        let t = try Self.drawn(
            ["conv.weight": [32, 16, 3, 3], "conv.bias": [32], "conv_norm.weight": [32]], seed: 1,
            RandomInit(scale: .pytorch))
        // A 3x3 convolution from 16 channels: fan-in 144, bound 1/12, standard deviation 1/(12√3).
        let (bound, std) = Self.moments(t["conv.weight"]!)
        #expect(bound <= 1 / 12 && bound > 0.95 / 12)
        #expect(abs(std - 1 / (12 * Float(3).squareRoot())) < 0.003)
        // The bias takes its layer's fan-in, not its own shape's.
        let (biasBound, _) = Self.moments(t["conv.bias"]!)
        #expect(biasBound <= 1 / 12 && biasBound > 0.5 / 12)
        #expect(t["conv_norm.weight"]!.scalars.allSatisfy { $0 == 1 })
    }

    @Test func zeroedLayersStartAtZeroAndLeaveTheOthersDrawnAlike() throws {
        let scheme = RandomInit(scale: .pytorch) { $0.hasSuffix(".out") }
        let t = try Self.drawn(["a.out.weight": [8, 8], "a.out.bias": [8], "a.in.weight": [8, 8]], seed: 2, scheme)
        #expect(t["a.out.weight"]!.scalars.allSatisfy { $0 == 0 })
        #expect(t["a.out.bias"]!.scalars.allSatisfy { $0 == 0 })
        #expect(t["a.in.weight"]!.scalars.contains { $0 != 0 })
    }
}
