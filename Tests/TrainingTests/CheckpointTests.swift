import Diffusion
import Foundation
import Numerics
import Testing
@testable import Training

@Suite struct CheckpointTests {
    static var tinyVAE: [String: Any] { Recipe.vae.merging(["block_out_channels": [8, 16], "norm_num_groups": 4, "sample_size": 16]) { $1 } }

    func trainer(_ folder: URL, steps: Int) -> VAETrainer {
        var t = VAETrainer(folder: folder)
        t.config = Self.tinyVAE
        t.steps = steps
        t.scheduleSteps = 4
        t.batch = 2
        t.saveEvery = 1
        return t
    }

    /// Two steps, a stop, two more steps from the saved checkpoint: the same weights, moments and
    /// step as four steps in one go.
    @Test func aResumedRunEqualsAnUninterruptedOne() throws {
        let catalog = try heldOutCatalog.get()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-train-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (once, twice) = (scratch.appendingPathComponent("once"), scratch.appendingPathComponent("twice"))
        try trainer(once, steps: 4).run(catalog: catalog) { _ in }
        try trainer(twice, steps: 2).run(catalog: catalog) { _ in }
        var lines: [String] = []
        try trainer(twice, steps: 4).run(catalog: catalog) { lines.append($0) }
        #expect(lines.first?.contains("step 2 of 4") == true)
        for file in ["diffusion_pytorch_model.safetensors", "training-state.safetensors", "config.json"] {
            let a = try Data(contentsOf: once.appendingPathComponent(file)), b = try Data(contentsOf: twice.appendingPathComponent(file))
            #expect(a == b, "\(file) differs")
        }
        // What was written is a VAE folder that diffusers' layout loads, and training changed it.
        let vae = try AutoencoderKL(folder: once)
        #expect(vae.config.blockChannels == [8, 16])
        let state = try SafeTensorsFile(once.appendingPathComponent("training-state.safetensors"))
        #expect(state.metadata["step"] == "4")
        let log = try String(contentsOf: once.appendingPathComponent("training-log.csv"), encoding: .utf8)
        #expect(log.hasPrefix("step,loss,mse,psnr,seconds"))
    }

    @Test func crossEntropyTrainsAContrastiveHead() {
        // Two embeddings sets that should pair up along the diagonal: the loss falls with training.
        var g = RandomGenerator(seed: 3)
        let a = Tensor.randn([6, 8], using: &g), b = Tensor(Tensor.randn([6, 8], using: &g).scalars, shape: [6, 8], requiresGrad: true)
        let optimizer = AdamW([b], learningRate: 0.05, weightDecay: 0)
        var losses: [Float] = []
        for _ in 0..<30 {
            let logits = a.l2Normalized().matmul(b.l2Normalized(), transposeB: true) * 10
            let loss = logits.crossEntropy(Array(0..<6))
            b.grad = nil
            loss.backward()
            optimizer.update()
            losses.append(loss.item)
        }
        #expect(losses.last! < losses.first! * 0.5)
        let logits = a.l2Normalized().matmul(b.l2Normalized(), transposeB: true)
        #expect(CLIPTrainer.correct(logits) == 6)
    }
}
