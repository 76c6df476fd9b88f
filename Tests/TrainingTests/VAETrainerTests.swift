import Foundation
import Numerics
import Testing

@testable import Training

@Suite struct VAETrainerTests {
    /// The scale-equivariance term compares half-size images: each channel's 2x2 blocks averaged.
    @Test func halvingAveragesEachChannelsTwoByTwoBlocks() {
        let values = (0..<32).map(Float.init)  // [1, 2, 4, 4]
        let x = Tensor(values, shape: [1, 2, 4, 4], requiresGrad: true)
        let half = VAETrainer.halve(x)
        #expect(half.shape == [1, 2, 2, 2])
        #expect(half.scalars == [2.5, 4.5, 10.5, 12.5, 18.5, 20.5, 26.5, 28.5])
        half.sum().backward()
        #expect(x.grad?.scalars == [Float](repeating: 0.25, count: 32))
    }

    /// The same two steps with and without the term: the term must change what is learned.
    @Test func theScaleEquivarianceTermTakesPartInTraining() throws {
        let catalog = try heldOutCatalog.get()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-vae-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        func weights(_ name: String, term: Float?) throws -> Data {
            var trainer = VAETrainer(folder: scratch.appendingPathComponent(name))
            trainer.config = CheckpointTests.tinyVAE
            trainer.steps = 2
            trainer.batch = 2
            trainer.scaleEquivarianceWeight = term
            try trainer.run(catalog: catalog) { _ in }
            return try Data(contentsOf: trainer.folder.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        }
        let plain = try weights("plain", term: nil)
        let again = try weights("again", term: nil)
        #expect(plain == again)  // training is deterministic, so a difference is the term's
        #expect(try weights("equivariant", term: 1) != plain)
    }
}
