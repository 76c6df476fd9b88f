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
}
