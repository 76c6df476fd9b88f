import Foundation
import Jupyter
import TestSupport
import Testing

@testable import Kernel

/// `evaluate evaluator=PATH`: a CLIPModel folder measures CLIP-I and CLIP-T, even on a pipeline without an
/// image encoder; `info` says which CLIP measures; a folder that is not one is a clear error.
@Suite struct EvaluatorCommandTests {
    func text(_ r: Recorder) -> String { r.messages.compactMap { $0.1["text"]?.string }.joined() }

    @Test func aCLIPModelFolderMeasuresBoth() throws {
        let r = Recorder()
        let images = try conceptFolder()
        _ = r.run("load \"\(sdTiny.path)\"")
        _ = r.run("concept toy from \"\(images.path)/*.png\" init=toy")
        let clip = Fixtures.tests.appendingPathComponent("DiffusionTests/Fixtures/clip-model")
        #expect(error(r.run("evaluate images=1 steps=1 evaluator=\"\(clip.path)\"").0) == nil)
        #expect(text(r).contains("(CLIP-I and CLIP-T)") && text(r).contains("CLIP text similarity (CLIP-T): "))
        #expect(error(r.run("info").0) == nil)
        #expect(text(r).contains("measuring: off (`evaluate every=K`) with the CLIPModel at"))
        #expect(error(r.run("evaluate evaluator=\"\(images.path)\"").0)?.evalue.contains("has no config.json") == true)
        #expect(error(r.run("evaluate evaluator=own").0) == nil)
        #expect(
            text(r).hasSuffix(
                "(no image_encoder/ in this pipeline: no CLIP image similarity)\n"
                    + "`step` does not measure (set every=K)\n"))
    }
}
