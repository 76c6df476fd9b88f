import Diffusion
import Foundation
import Numerics
import Testing

@testable import Training

@Suite struct CheckpointTests {
    static var tinyVAE: [String: Any] {
        Recipe.vae.merging(["block_out_channels": [8, 16], "norm_num_groups": 4, "sample_size": 16]) { $1 }
    }

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
            let a = try Data(contentsOf: once.appendingPathComponent(file))
            let b = try Data(contentsOf: twice.appendingPathComponent(file))
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

    /// A checkpoint resumes only with its own architecture, weights and moments of one step, and a
    /// fresh start leaves nothing of an earlier run's state behind.
    @Test func resumingChecksWhatItResumes() throws {
        let catalog = try heldOutCatalog.get()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-train-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try trainer(folder, steps: 2).run(catalog: catalog) { _ in }
        var other = trainer(folder, steps: 3)
        other.config = Self.tinyVAE.merging(["norm_num_groups": 2]) { $1 }
        #expect { try other.run(catalog: catalog) { _ in } } throws: {
            String(describing: $0).contains("other settings (norm_num_groups)")
        }

        // Weights of step 2 with the optimiser state of an older save: refused.
        let state = folder.appendingPathComponent("training-state.safetensors")
        let file = try SafeTensorsFile(state)
        try SafeTensors.write(
            file.names.map { ($0, .float(try file.tensor($0).copy(), .f32)) }, metadata: ["step": "1"], to: state)
        #expect { try trainer(folder, steps: 3).run(catalog: catalog) { _ in } } throws: {
            String(describing: $0).contains("step 2")
        }

        // Without the weights it starts afresh, and the old state and log are gone.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        var lines: [String] = []
        try trainer(folder, steps: 1).run(catalog: catalog) { lines.append($0) }
        #expect(lines.first?.contains("step 0 of 1") == true)
        let log = try String(contentsOf: folder.appendingPathComponent("training-log.csv"), encoding: .utf8)
        #expect(log.split(separator: "\n").count == 2)
    }

    @Test func crossEntropyTrainsAContrastiveHead() {
        // Two embeddings sets that should pair up along the diagonal: the loss falls with training.
        var g = RandomGenerator(seed: 3)
        let a = Tensor.randn([6, 8], using: &g)
        let b = Tensor(Tensor.randn([6, 8], using: &g).scalars, shape: [6, 8], requiresGrad: true)
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
