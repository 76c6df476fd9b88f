import Diffusion
import Foundation
import Numerics
import Testing

@testable import Training

@Suite struct UNetInitTests {
    @Test func latentDiffusionInitZeroesTheLastLayerOfEveryResidualBranchAndConvOut() throws {
        let config = try Recipe.unet(channels: "32,32,32")
        let unet = try UNet2DConditionModel(
            config: UNetConfig(ConfigFile(values: config)), weights: .random(seed: 0, UNetTrainer.latentDiffusionInit))
        let weights = unet.parameters.named.filter { $0.name.hasSuffix(".weight") && $0.tensor.shape.count > 1 }
        let zeroed = weights.filter { $0.tensor.scalars.allSatisfy { $0 == 0 } }.map(\.name)
        let resnets = weights.filter { $0.name.hasSuffix(".conv1.weight") }.count
        let transformers = weights.filter { $0.name.hasSuffix(".proj_in.weight") }.count
        #expect(resnets > 0 && transformers > 0)
        #expect(zeroed.count == resnets + transformers + 1, "zeroed: \(zeroed)")
        #expect(zeroed.contains("conv_out.weight"))
        #expect(
            zeroed.allSatisfy {
                $0 == "conv_out.weight" || $0.hasSuffix(".conv2.weight") || $0.hasSuffix(".proj_out.weight")
            })
    }
}
