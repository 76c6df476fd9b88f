import Diffusion
import Foundation
import Numerics
import Testing

@testable import Training

@Suite(.serialized) struct DataParallelTests {
    /// Two copies on half a batch each give the master the gradient of the whole batch's mean loss.
    @Test func sharesAddUpToTheWholeBatch() throws {
        let config = Recipe.unet.merging([
            "block_out_channels": [32, 32, 32], "cross_attention_dim": 16, "norm_num_groups": 8,
            "sample_size": 8
        ]) { $1 }
        let build = { (weights: ModelWeights) in
            try UNet2DConditionModel(config: UNetConfig(ConfigFile(values: config)), weights: weights)
        }
        let master = try build(.random(seed: 9))
        let parameters = master.parameters.named.map(\.tensor)
        for p in parameters { p.requiresGrad = true }
        var g = RandomGenerator(seed: 4)
        let (batch, sample) = (5, Tensor.randn([5, 4, 8, 8], using: &g))
        let context = Tensor.randn([5, 7, 16], using: &g)
        let target = Tensor.randn([5, 4, 8, 8], using: &g)
        let timesteps: [Float] = [3, 250, 500, 750, 999]

        let whole = Tensor.mse(master(sample, timesteps: timesteps, context: context), target)
        whole.backward()
        let expected = parameters.map { $0.grad!.scalars }
        for p in parameters { p.grad = nil }

        let pair = try DataParallel(master: master, count: 2, build: build)
        let loss = pair.lossAndGradients(batch: batch) { model, range in
            Tensor.mse(
                model(sample.batchRows(range), timesteps: Array(timesteps[range]), context: context.batchRows(range)),
                target.batchRows(range))
        }
        #expect(abs(loss - Double(whole.item)) < 1e-5 * Double(whole.item))
        for (p, e) in zip(parameters, expected) {
            let got = p.grad!.scalars
            let error = zip(got, e).map { Double(($0 - $1) * ($0 - $1)) }.reduce(0, +).squareRoot()
            let norm = e.map { Double($0 * $0) }.reduce(0, +).squareRoot()
            #expect(error <= 1e-4 * max(norm, 1e-12))
        }
    }
}
