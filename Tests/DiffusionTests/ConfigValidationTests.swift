import Foundation
import Numerics
import TestSupport
import Testing

@testable import Diffusion

/// Every config value that sizes a model is checked before anything is built: a zero, a negative
/// or an absurd value is an error naming its key, never a division by zero or a trap later.
@Suite struct ConfigValidationTests {
    static let pipeline = fixtures.appendingPathComponent("sd-tiny/pipeline")

    func values(_ part: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Self.pipeline.appendingPathComponent(part))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Builds the config with `key` replaced by `value`; expects an error naming the key.
    func expectRefused(_ part: String, _ key: String, _ value: Any, build: (ConfigFile) throws -> Void) throws {
        var changed = try values(part)
        changed[key] = value
        let file = ConfigFile(values: changed, url: URL(fileURLWithPath: part))
        #expect(throws: ModelError.self, "\(part) \(key)=\(value)") { try build(file) }
        do { try build(file) } catch {
            #expect(String(describing: error).contains(key), "\(part) \(key)=\(value): \(error)")
        }
    }

    @Test func textEncoderSizes() throws {
        let build: (ConfigFile) throws -> Void = { _ = try CLIPTextModel.Config($0) }
        try build(ConfigFile(values: try values("text_encoder/config.json")))
        // Before: num_attention_heads 0 divided by zero in CLIPTextModel and ended the kernel.
        for key in [
            "vocab_size", "hidden_size", "intermediate_size", "num_attention_heads", "num_hidden_layers",
            "max_position_embeddings"
        ] {
            for bad in [0, -1, 1 << 40] as [Any] {
                try expectRefused("text_encoder/config.json", key, bad, build: build)
            }
        }
        try expectRefused("text_encoder/config.json", "num_attention_heads", 7, build: build)
        try expectRefused("text_encoder/config.json", "layer_norm_eps", -1.0, build: build)
        try expectRefused("text_encoder/config.json", "eos_token_id", 1 << 30, build: build)
    }

    @Test func unetSizes() throws {
        let build: (ConfigFile) throws -> Void = { _ = try UNetConfig($0) }
        try build(ConfigFile(values: try values("unet/config.json")))
        // Before: sample_size -1 loaded ("-1x-1 latents") and `generate` trapped in Tensor.init.
        for key in [
            "sample_size", "in_channels", "out_channels", "layers_per_block", "cross_attention_dim", "norm_num_groups"
        ] {
            for bad in [0, -1, 1 << 40] as [Any] { try expectRefused("unet/config.json", key, bad, build: build) }
        }
        try expectRefused("unet/config.json", "block_out_channels", [32, -64], build: build)
        try expectRefused("unet/config.json", "block_out_channels", [] as [Int], build: build)
        try expectRefused("unet/config.json", "attention_head_dim", 0, build: build)
        try expectRefused("unet/config.json", "transformer_layers_per_block", 0, build: build)
        try expectRefused("unet/config.json", "sample_size", 7, build: build)
        try expectRefused("unet/config.json", "norm_eps", Double.infinity, build: build)
    }

    @Test func vaeAndSchedulerSizes() throws {
        let vae: (ConfigFile) throws -> Void = { _ = try AutoencoderKL.Config($0) }
        try vae(ConfigFile(values: try values("vae/config.json")))
        for key in [
            "in_channels", "out_channels", "latent_channels", "layers_per_block", "norm_num_groups", "sample_size"
        ] {
            for bad in [0, -3] as [Any] { try expectRefused("vae/config.json", key, bad, build: vae) }
        }
        try expectRefused("vae/config.json", "block_out_channels", [0], build: vae)
        try expectRefused("vae/config.json", "scaling_factor", 0.0, build: vae)
        let scheduler: (ConfigFile) throws -> Void = { _ = try NoiseSchedule($0) }
        try scheduler(ConfigFile(values: try values("scheduler/scheduler_config.json")))
        for (key, bad) in [
            ("num_train_timesteps", 0), ("num_train_timesteps", -5), ("beta_start", -0.1), ("beta_end", 1.5),
            ("steps_offset", -1), ("steps_offset", 1_000_000)
        ] as [(String, Any)] {
            try expectRefused("scheduler/scheduler_config.json", key, bad, build: scheduler)
        }
    }

    @Test func visionEncoderSizes() throws {
        let folder = fixtures.appendingPathComponent("clip-vision/image_encoder")
        let original = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json")))
                as? [String: Any])
        for key in [
            "hidden_size", "num_attention_heads", "num_hidden_layers", "image_size", "patch_size", "projection_dim",
            "num_channels"
        ] {
            for bad in [0, -2] {
                var changed = original
                changed[key] = bad
                #expect(throws: ModelError.self, "\(key)=\(bad)") {
                    try CLIPVisionModel.Config(ConfigFile(values: changed))
                }
            }
        }
    }

    @Test func nonFiniteWeightsAreRefusedByName() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-nan-\(UUID())")
        try FileManager.default.copyItem(at: Self.pipeline, to: scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let url = scratch.appendingPathComponent("text_encoder/model.safetensors")
        let file = try SafeTensorsFile(url)
        var tensors: [(String, SafeTensors.Value)] = try file.names.map {
            ($0, .float(try file.tensor($0).copy(), try file.entry($0).dtype))
        }
        let victim = try #require(tensors.firstIndex { $0.0.hasSuffix("final_layer_norm.weight") })
        guard case .float(let t, let dtype) = tensors[victim].1 else { return }
        t.data[1] = .nan
        tensors[victim].1 = .float(t, dtype)
        try SafeTensors.write(tensors, to: url)
        // Before: the weights loaded, and the next `generate` trapped converting NaN to UInt8.
        #expect { try StableDiffusionPipeline(folder: scratch) } throws: {
            String(describing: $0).contains("final_layer_norm.weight") && String(describing: $0).contains("NaN")
        }
    }
}
