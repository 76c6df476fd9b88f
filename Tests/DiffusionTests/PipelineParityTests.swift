import Foundation
import Numerics
import TestSupport
import Testing

@testable import Diffusion

/// Every output of the fixture format, for every fixture, through the same evaluation that
/// `gradti eval` and `gradti check` use.
@Suite struct PipelineParityTests {
    static let inputs: Set<String> = [
        "text.input_ids", "text.uncond_input_ids", "unet.x0", "unet.noise", "unet.timestep",
        "vae.image", "vae.latents", "ddim.initial_latents"
    ]

    @Test(arguments: ["sd-tiny", "sd2-tiny"])
    func everyReferenceOutputMatches(fixture: String) throws {
        let folder = fixtures.appendingPathComponent(fixture)
        let pipeline = try StableDiffusionPipeline(folder: folder.appendingPathComponent("pipeline"))
        let reference = try SafeTensorsFile(folder.appendingPathComponent("reference.safetensors"))
        let results = try ReferenceEvaluation.compare(
            ReferenceEvaluation.evaluate(pipeline, inputs: reference), with: reference)
        for result in results {
            #expect(result.error < result.tolerance, "\(fixture) \(result.key): relative error \(result.error)")
        }
        let checked = Set(results.map(\.key))
        // ddim.timesteps is checked as integers below; every other output must have been computed.
        let missing = Set(reference.names).subtracting(Self.inputs).subtracting(checked).subtracting(["ddim.timesteps"])
        #expect(missing.isEmpty, "outputs not computed: \(missing.sorted())")
        let steps = try reference.indices("ddim.timesteps")
        #expect(try DDIMSampler(schedule: pipeline.schedule, steps: steps.values.count).timesteps == steps.values)
    }

    @Test func tokenizerJSONAndPadToken() throws {
        let folder = fixtures.appendingPathComponent("sd2-tiny")
        let tokenizer = try CLIPTokenizer(folder: folder.appendingPathComponent("pipeline/tokenizer"))
        let reference = try SafeTensorsFile(folder.appendingPathComponent("reference.safetensors"))
        let prompts = ["a photo of a cat toy", "An oil painting of <cat-toy>, 2 dogs & émoji 🐱!"]
        #expect(prompts.flatMap { tokenizer.encode($0).ids } == (try reference.indices("text.input_ids")).values)
        #expect(tokenizer.padID == 0 && tokenizer.contextLength == 77)
    }

    @Test func brokenFoldersSayWhatIsWrong() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-broken-\(UUID())")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("sd-tiny/pipeline"), to: scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }
        func expectError(_ fragment: String) {
            #expect { try StableDiffusionPipeline(folder: scratch) } throws: {
                String(describing: $0).contains(fragment)
            }
        }
        // An unsupported config value names its key.
        let unetConfig = scratch.appendingPathComponent("unet/config.json")
        let original = try Data(contentsOf: unetConfig)
        try Data(String(decoding: original, as: UTF8.self).replacingOccurrences(of: "\"silu\"", with: "\"mish\"").utf8)
            .write(to: unetConfig)
        expectError("act_fn")
        // A config that does not match the weights names the tensor.
        try Data(
            String(decoding: original, as: UTF8.self).replacingOccurrences(
                of: "\"layers_per_block\": 1", with: "\"layers_per_block\": 2"
            ).utf8
        ).write(to: unetConfig)
        expectError("missing tensor down_blocks.0.resnets.1")
        try original.write(to: unetConfig)
        try FileManager.default.removeItem(
            at: scratch.appendingPathComponent("vae/diffusion_pytorch_model.safetensors"))
        expectError("no weights")
        #expect { try StableDiffusionPipeline(folder: scratch.appendingPathComponent("nowhere")) } throws: {
            String(describing: $0).contains("no such folder")
        }
    }
}

/// A study keeps the model's fingerprint: it must follow the content, not the place.
@Suite struct PipelineFingerprintTests {
    @Test func followsContentNotPlace() throws {
        let fm = FileManager.default
        let original = fixtures.appendingPathComponent("sd-tiny/pipeline")
        let elsewhere = fm.temporaryDirectory.appendingPathComponent("gradti-moved-\(UUID())/pipeline")
        try fm.createDirectory(at: elsewhere.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.copyItem(at: original, to: elsewhere)
        defer { try? fm.removeItem(at: elsewhere.deletingLastPathComponent()) }
        let here = try StableDiffusionPipeline(folder: original).fingerprint()
        #expect(try StableDiffusionPipeline(folder: elsewhere).fingerprint() == here)
        #expect(here.hasPrefix("pipeline "))
        // A link to the folder, as `GRADTI_MODEL` or a cache may give: the same weights, the same hash.
        let link = elsewhere.deletingLastPathComponent().appendingPathComponent("linked")
        try fm.createSymbolicLink(at: link, withDestinationURL: elsewhere)
        #expect(
            try StableDiffusionPipeline(folder: link).fingerprint()
                == here.replacingOccurrences(of: "pipeline ", with: "linked "))
        // One weight byte changed (the last byte of the VAE's data) gives another fingerprint.
        let weights = elsewhere.appendingPathComponent("vae/diffusion_pytorch_model.safetensors")
        var bytes = try Data(contentsOf: weights)
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: weights)
        #expect(try StableDiffusionPipeline(folder: elsewhere).fingerprint() != here)
    }

    /// What gradti keeps beside a model about it (generic concepts, the model's profile) is not the model.
    @Test func annotationsLeaveTheFingerprint() throws {
        let fm = FileManager.default
        let copy = fm.temporaryDirectory.appendingPathComponent("gradti-annotated-\(UUID())/pipeline")
        try fm.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: copy.deletingLastPathComponent()) }
        try fm.copyItem(at: fixtures.appendingPathComponent("sd-tiny/pipeline"), to: copy)
        let before = try StableDiffusionPipeline(folder: copy).fingerprint()
        let concepts = copy.appendingPathComponent(StableDiffusionPipeline.genericConceptsFolder + "/a")
        try fm.createDirectory(at: concepts, withIntermediateDirectories: true)
        try Data("a {} on a table\n".utf8).write(to: concepts.appendingPathComponent("0.txt"))
        try Data("{}".utf8).write(to: copy.appendingPathComponent(StableDiffusionPipeline.modelProfileFile))
        #expect(try StableDiffusionPipeline(folder: copy).fingerprint() == before)
        // A config file of the model's is part of it.
        try Data("{}".utf8).write(to: copy.appendingPathComponent("unet/extra.json"))
        #expect(try StableDiffusionPipeline(folder: copy).fingerprint() != before)
    }

    /// The committed study was made with the shipped embedded model.
    @Test func theEmbeddedModelIsTheStudys() throws {
        let plan = try Data(contentsOf: Fixtures.repository.appendingPathComponent("notebooks/paper-study/plan.json"))
        let model = try #require(
            (try JSONSerialization.jsonObject(with: plan) as? [String: Any])?["model"] as? String)
        let embedded = Fixtures.repository.appendingPathComponent("models/gradti-emoji")
        #expect(try StableDiffusionPipeline(folder: embedded).fingerprint() == model)
    }
}
