import Foundation
import Inversion
import Jupyter
import TestSupport
import Testing

@testable import Kernel

@Suite struct ModelProfileCommandTests {
    func text(_ r: Recorder) -> String { r.messages.compactMap { $0.1["text"]?.string }.joined() }

    /// `profile model` on a folder of generic concepts: the mean and spread, the one-off cost on its own
    /// line, high-grad picking from it; save=model writes it into the model folder, where `load` finds it.
    @Test func profileModelFromAFolderOfConcepts() throws {
        let model = try Scratch.folder("gradti-model-copy").appendingPathComponent("pipeline")
        try FileManager.default.copyItem(at: sdTiny, to: model)
        let generic = try Scratch.folder("gradti-generic")
        for name in ["red-thing", "blue-thing"] {
            let sub = generic.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            for file in try FileManager.default.contentsOfDirectory(atPath: try conceptFolder().path) {
                try FileManager.default.copyItem(
                    at: try conceptFolder().appendingPathComponent(file), to: sub.appendingPathComponent(file))
            }
        }
        let images = try conceptFolder()
        let r = Recorder()
        for cell in [
            "load \"\(model.path)\"", "strategy highgrad from=model",
            "profile model from=\"\(generic.path)\" steps=3 samples=1 t=0:1000:200 save=model",
            "concept cat-toy from \"\(images.path)/*.png\" init=cat", "strategy highgrad from=model width=200",
            "step 2"
        ] {
            let (outcome, _) = r.run(cell)
            let failed = error(outcome)
            // Before any model profile, high-grad from=model says how to get one.
            if cell == "strategy highgrad from=model" {
                #expect(failed?.evalue.contains("profile model") == true)
            } else {
                #expect(failed == nil, "\(cell): \(failed?.evalue ?? "")")
            }
        }
        let output = text(r)
        #expect(output.contains("mean over 2 concepts after 3 uniform steps each"))
        #expect(output.contains("one-off cost: 16 UNet passes"))
        let session = try #require(r.interpreter.workspace.session)
        let profile = try #require(session.modelProfile)
        #expect(profile.concepts == ["blue-thing", "red-thing"] && profile.points(.norm).count == 5)
        #expect(profile.points(.norm).allSatisfy { $0.mean > 0 && $0.std >= 0 })
        let top = profile.points(.norm).max { $0.mean < $1.mean }!.t
        #expect(session.sampler.allowed.contains(top))
        // A new load of the model finds the saved profile.
        let again = Recorder()
        for cell in [
            "load \"\(model.path)\"", "concept cat-toy from \"\(images.path)/*.png\" init=cat",
            "strategy highgrad from=model"
        ] {
            #expect(error(again.run(cell).0) == nil, "\(cell)")
        }
        #expect(again.interpreter.workspace.session?.modelProfile == profile)
        #expect(
            error(again.run("profile model from=\"\(images.path)/nothing\"").0)?.evalue.contains("concepts") == true)
    }
}
