import Foundation
import Numerics
import TestSupport
import Testing

@testable import Diffusion

/// Diffusers folders published before safetensors hold `diffusion_pytorch_model.bin` (and transformers'
/// `pytorch_model.bin`): they load as their safetensors twins do, read by gradti's data-only unpickler.
@Suite struct PyTorchWeightsTests {
    @Test func aVAEWithBinWeightsLoadsAsItsSafetensorsTwin() throws {
        let fromBin = try AutoencoderKL(folder: fixtures.appendingPathComponent("vae-bin"))
        let fromSafetensors = try AutoencoderKL(folder: fixtures.appendingPathComponent("sd-tiny/pipeline/vae"))
        let image = Tensor((0..<(3 * 16 * 16)).map { Float($0 % 13) / 6.5 - 1 }, shape: [1, 3, 16, 16])
        let (a, _) = withoutGradients { fromBin.encode(image) }
        let (b, _) = withoutGradients { fromSafetensors.encode(image) }
        #expect(a.scalars == b.scalars)
        #expect(CheckpointFiles.pytorchName("model.safetensors") == "pytorch_model.bin")
        #expect(CheckpointFiles.pytorchName("diffusion_pytorch_model.safetensors") == "diffusion_pytorch_model.bin")
    }

    /// A VAE saved before diffusers 0.14 names its attention query, key, value and proj_attn: it loads as
    /// today's names (same shapes), giving the same encodings and decodings.
    @Test func aVAEWithTheOldAttentionNamesLoads() throws {
        let old = try AutoencoderKL(folder: fixtures.appendingPathComponent("vae-old-attention"))
        let today = try AutoencoderKL(folder: fixtures.appendingPathComponent("sd-tiny/pipeline/vae"))
        let image = Tensor((0..<(3 * 16 * 16)).map { Float($0 % 7) / 3.5 - 1 }, shape: [1, 3, 16, 16])
        let (a, _) = withoutGradients { old.encode(image) }
        let (b, _) = withoutGradients { today.encode(image) }
        #expect(a.scalars == b.scalars)
        #expect(withoutGradients { old.decode(a) }.scalars == withoutGradients { today.decode(a) }.scalars)
        #expect(
            AutoencoderKL.deprecatedAttention("encoder.mid_block.attentions.0.proj_attn.weight")
                == "encoder.mid_block.attentions.0.to_out.0.weight")
        #expect(
            AutoencoderKL.deprecatedAttention("encoder.down_blocks.0.resnets.0.conv1.weight")
                == "encoder.down_blocks.0.resnets.0.conv1.weight")
    }

    /// `variant: "fp16"` reads diffusers' variant files where a component has them, the plain ones elsewhere.
    @Test func variantWeightsAreChosenWhereTheyExist() throws {
        let folder = try Scratch.folder("gradti-variant")
        let pipeline = folder.appendingPathComponent("pipeline")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("sd-tiny/pipeline"), to: pipeline)
        let vae = pipeline.appendingPathComponent("vae")
        let plain = try SafeTensorsFile(vae.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        try SafeTensors.write(
            try plain.names.map { ($0, .float(try plain.tensor($0), .f16)) },
            to: vae.appendingPathComponent("diffusion_pytorch_model.fp16.safetensors"))
        let name = "decoder.conv_out.weight"
        let loaded = try StableDiffusionPipeline(folder: pipeline, variant: "fp16")
        let reread = try SafeTensorsFile(vae.appendingPathComponent("diffusion_pytorch_model.fp16.safetensors"))
        #expect(try #require(loaded.vae.parameters[name]).value.scalars == (try reread.tensor(name).scalars))
        #expect(try #require(loaded.vae.parameters[name]).value.scalars != (try plain.tensor(name).scalars))
        let unvaried = try StableDiffusionPipeline(folder: pipeline)
        #expect(try #require(unvaried.vae.parameters[name]).value.scalars == (try plain.tensor(name).scalars))
        #expect(CheckpointFiles.variantName("model.safetensors", "fp16") == "model.fp16.safetensors")
        #expect(CheckpointFiles.pytorchName("model.fp16.safetensors") == "pytorch_model.fp16.bin")
    }

    /// Weights split in shards with an `.index.json` (as save_pretrained writes large models) load as one file.
    @Test func shardedWeightsLoadFromTheirIndex() throws {
        let folder = try Scratch.folder("gradti-shards")
        let source = fixtures.appendingPathComponent("sd-tiny/pipeline/unet")
        try FileManager.default.copyItem(
            at: source.appendingPathComponent("config.json"), to: folder.appendingPathComponent("config.json"))
        let whole = try SafeTensorsFile(source.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        let half = whole.names.count / 2
        var map: [String: String] = [:]
        for (index, names) in [Array(whole.names[..<half]), Array(whole.names[half...])].enumerated() {
            let file = "diffusion_pytorch_model-0000\(index + 1)-of-00002.safetensors"
            try SafeTensors.write(
                try names.map { ($0, .float(try whole.tensor($0), .f32)) }, to: folder.appendingPathComponent(file))
            for name in names { map[name] = file }
        }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map])
        try index.write(to: folder.appendingPathComponent("diffusion_pytorch_model.safetensors.index.json"))
        let sharded = try UNet2DConditionModel(folder: folder)
        let single = try UNet2DConditionModel(folder: source)
        for parameter in single.parameters.parameters {
            #expect(sharded.parameters[parameter.name]?.value.scalars == parameter.value.scalars, "\(parameter.name)")
        }
        // An index naming a shard that is not there is an error naming it.
        map[whole.names[0]] = "missing.safetensors"
        try JSONSerialization.data(withJSONObject: ["weight_map": map]).write(
            to: folder.appendingPathComponent("diffusion_pytorch_model.safetensors.index.json"))
        #expect { try UNet2DConditionModel(folder: folder) } throws: {
            String(describing: $0).contains("lists the shard missing.safetensors")
        }
    }
}
