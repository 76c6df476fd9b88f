import Foundation
import Graphics
import Numerics
import TestSupport
import Testing

@testable import Diffusion

@Suite struct CLIPVisionTests {
    @Test func matchesTransformers() throws {
        let folder = fixtures.appendingPathComponent("clip-vision")
        let model = try CLIPVisionModel(folder: folder.appendingPathComponent("image_encoder"))
        let reference = try Reference(folder.appendingPathComponent("reference.safetensors"))
        let (last, embeds) = model(try reference.tensor("vision.pixel_values"))
        #expect(try reference.error(last, "vision.last_hidden_state") < 1e-4)
        #expect(try reference.error(embeds, "vision.image_embeds") < 1e-4)
    }

    @Test func embeddingsAreUnitLengthAndDeterministic() throws {
        let model = try CLIPVisionModel(folder: fixtures.appendingPathComponent("clip-vision/image_encoder"))
        let image = Image(width: 40, height: 30, pixels: (0..<3600).map { Float($0 % 97) / 97 })
        let a = model.embed([image])
        let b = model.embed([image])
        #expect(a == b)
        #expect(abs(a[0].map { $0 * $0 }.reduce(0, +) - 1) < 1e-5)
    }
}
