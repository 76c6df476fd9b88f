import Foundation

/// The embedded model's architecture, as the config files diffusers and transformers read: one
/// place, from which the training runs write each component's config.json.
public enum Recipe {
    /// Scenes are 32x32; the VAE makes 16x16x4 latents.
    public static let imageSide = 32

    public static let vae: [String: Any] = [
        "_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": 4,
        "block_out_channels": [32, 64], "layers_per_block": 1, "norm_num_groups": 16, "sample_size": imageSide,
        "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
        "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"], "act_fn": "silu", "scaling_factor": 1.0
    ]

    /// CLIP's shared settings: the real BPE vocabulary, 77 positions.
    static let clipCommon: [String: Any] = [
        "hidden_size": 128, "intermediate_size": 512, "num_attention_heads": 4, "num_hidden_layers": 4,
        "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "projection_dim": 128
    ]

    public static let textEncoder: [String: Any] = clipCommon.merging([
        "architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "vocab_size": 49408,
        "max_position_embeddings": 77, "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 49407
    ]) { a, _ in a }

    public static let imageEncoder: [String: Any] = clipCommon.merging([
        "architectures": ["CLIPVisionModelWithProjection"], "model_type": "clip_vision_model",
        "image_size": imageSide, "patch_size": 4, "num_channels": 3
    ]) { a, _ in a }
}

extension Recipe {
    /// Stable Diffusion's UNet on 16x16x4 latents, conditioned on the tiny CLIP's 128-wide states.
    public static let unet: [String: Any] = [
        "_class_name": "UNet2DConditionModel", "sample_size": 16, "in_channels": 4, "out_channels": 4,
        "block_out_channels": [64, 128, 128], "layers_per_block": 1, "cross_attention_dim": 128,
        "attention_head_dim": 4, "norm_num_groups": 32, "act_fn": "silu", "flip_sin_to_cos": true, "freq_shift": 0,
        "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
    ]

    /// The recipe's UNet with other block widths, for experiments on its capacity (`train unet --channels`):
    /// "96,128,128" gives one width per block, each a multiple of the 32 norm groups.
    public static func unet(channels text: String) throws -> [String: Any] {
        let blocks = (unet["block_out_channels"] as? [Int])?.count ?? 0
        let groups = unet["norm_num_groups"] as? Int ?? 1
        let widths = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: .whitespaces)) ?? 0
        }
        guard widths.count == blocks, widths.allSatisfy({ $0 > 0 && $0 % groups == 0 }) else {
            throw TrainingError(
                "the UNet's channels must be \(blocks) comma-separated multiples of \(groups), such as 96,128,128; "
                    + "got \"\(text)\""
            )
        }
        return unet.merging(["block_out_channels": widths]) { $1 }
    }

    /// Stable Diffusion's DDIM scheduler settings.
    public static let scheduler: [String: Any] = [
        "_class_name": "DDIMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "num_train_timesteps": 1000, "prediction_type": "epsilon", "clip_sample": false, "set_alpha_to_one": false,
        "steps_offset": 1, "timestep_spacing": "leading"
    ]
}
