import Diffusion
import Foundation
import TestSupport
import Testing

@testable import Inversion

/// CLIP-I and CLIP-T with a chosen evaluator (transformers' CLIPModel folder), recorded and kept in sessions.
@Suite struct EvaluatorTests {
    @Test func promptsLoseTheirPlaceholderForCLIPT() {
        #expect(InversionSession.withoutPlaceholder("a photo of a {} on the beach") == "a photo of a on the beach")
        #expect(InversionSession.withoutPlaceholder("a {} dog in the jungle") == "a dog in the jungle")
        #expect(InversionSession.withoutPlaceholder("{}, 1girl, solo") == "1girl, solo")
        #expect(InversionSession.withoutPlaceholder("a {} , red") == "a, red")
    }

    @Test func aChosenEvaluatorMeasuresBothAndSessionsKeepCLIPT() throws {
        let s = try session()
        #expect(!s.canMeasureSimilarity, "sd-tiny has no image_encoder/")
        s.setEvaluator(
            try CLIPEvaluator(
                clipModelFolder: Fixtures.tests.appendingPathComponent("DiffusionTests/Fixtures/clip-model")))
        s.similaritySettings.images = 2
        s.similaritySettings.steps = 2
        let measured = try s.recordSimilarity()
        let text = try #require(measured.text)
        #expect((-1...1).contains(text) && (-1...1).contains(measured.value))
        #expect(s.textSimilarityHistory.map(\.value) == [text])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-clipt-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try s.saveSession(to: file)
        let copy = InversionSession(
            pipeline: try StableDiffusionPipeline(folder: fixture.appendingPathComponent("pipeline")))
        try copy.loadSession(from: file)
        #expect(copy.textSimilarityHistory.map(\.step) == [0])
        #expect(copy.textSimilarityHistory.map { Float($0.value) } == [Float(text)])
        s.setEvaluator(nil)
        #expect(s.evaluator == nil)
    }
}
