/// Architectures for benchmarks: Stable Diffusion 1.5's UNet and a tiny one of the same kind.
public enum UNetPreset: String, CaseIterable, Sendable {
    case sd15, tiny

    /// Both are diffusers configs, so they go through the same checks as files do.
    public func config() throws -> UNetConfig { try UNetConfig(ConfigFile(values: values)) }

    var values: [String: Any] {
        switch self {
        case .sd15:
            return [
                "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2, "cross_attention_dim": 768,
                "attention_head_dim": 8, "sample_size": 64, "norm_num_groups": 32,
                "down_block_types": [
                    "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"
                ],
                "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
            ]
        case .tiny:
            return [
                "block_out_channels": [64, 128, 128], "layers_per_block": 1, "cross_attention_dim": 128,
                "attention_head_dim": 8, "sample_size": 16, "norm_num_groups": 32,
                "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
            ]
        }
    }

    /// Batch, latent side and conditioning length the benchmark uses.
    public var batch: Int { self == .sd15 ? 1 : 4 }
}
