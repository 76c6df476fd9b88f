import Foundation
import Numerics
import TestSupport
import Testing

@testable import Diffusion

@Suite struct CLIPTextModelTests {
    let reference: Reference

    init() throws {
        reference = try Reference(Fixtures.sdTinyFolder.appendingPathComponent("reference.safetensors"))
    }

    @Test func matchesTransformers() throws {
        let model = try CLIPTextModel(folder: sdTiny.appendingPathComponent("text_encoder"))
        let (last, pooled) = model(try reference.ids("text.input_ids"))
        #expect(try reference.error(last, "text.last_hidden_state") < 1e-4)
        #expect(try reference.error(pooled, "text.pooler_output") < 1e-4)
        let uncond = model(try reference.ids("text.uncond_input_ids")).lastHidden
        #expect(try reference.error(uncond, "text.uncond_last_hidden_state") < 1e-4)
    }

    @Test func tokenizerGivesTheReferenceIds() throws {
        let tokenizer = try CLIPTokenizer(folder: sdTiny.appendingPathComponent("tokenizer"))
        let prompts = ["a photo of a cat toy", "An oil painting of <cat-toy>, 2 dogs & émoji 🐱!"]
        #expect(prompts.flatMap { tokenizer.encode($0).ids } == (try reference.ids("text.input_ids")).values)
    }
}
