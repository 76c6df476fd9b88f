import Foundation
import Numerics
import TestSupport
import Testing

@testable import Diffusion

/// The evaluator read from transformers' CLIPModel folder (tiny, random: `Fixtures/clip-model`) computes the
/// image and text features transformers computes.
@Suite struct CLIPEvaluatorTests {
    static let folder = fixtures.appendingPathComponent("clip-model")

    @Test func matchesTransformersCLIPModel() throws {
        let evaluator = try CLIPEvaluator(clipModelFolder: Self.folder)
        let reference = try Reference(Self.folder.appendingPathComponent("reference.safetensors"))
        #expect(
            try reference.error(
                evaluator.vision(try reference.tensor("clip.pixel_values")).imageEmbeds, "clip.image_embeds") < 1e-4)
        let text = try #require(evaluator.text)
        let stored = try SafeTensorsFile(Self.folder.appendingPathComponent("reference.safetensors"))
        let ids = try stored.indices("clip.input_ids")
        #expect(try reference.error(text.projection(text.model(ids).pooled), "clip.text_embeds") < 1e-4)
        // Its own tokenizer (vocab.json and merges.txt) gives the ids transformers gave.
        let prompts = ["a photo of a dog in the jungle", "a red teapot"]
        #expect(prompts.flatMap { text.tokenizer.encode($0).ids } == ids.values)
        let embedded = try #require(evaluator.embedText(prompts))
        #expect(embedded.count == 2 && embedded.allSatisfy { abs($0.map { $0 * $0 }.reduce(0, +) - 1) < 1e-5 })
    }

    @Test func aFolderThatIsNotACLIPModelIsAClearError() throws {
        #expect { try CLIPEvaluator(clipModelFolder: fixtures.appendingPathComponent("clip-vision")) } throws: {
            String(describing: $0).contains("has no config.json")
        }
        #expect {
            try CLIPEvaluator(clipModelFolder: fixtures.appendingPathComponent("clip-vision/image_encoder"))
        } throws: { String(describing: $0).contains("no \"vision_config\" object") }
    }
}
