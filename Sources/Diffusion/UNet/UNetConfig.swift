import Foundation

/// The architecture of a `UNet2DConditionModel`, read from its config.json. Keys for features
/// gradti lacks must hold their neutral defaults; anything else is an error naming the key.
public struct UNetConfig: Sendable {
    public var inChannels, outChannels, layersPerBlock, crossAttentionDim, normGroups, sampleSize,
        downsamplePadding: Int
    public var blockChannels: [Int]
    public var downBlocks, upBlocks: [String]
    public var midBlock: String?
    /// Heads per block, down order (diffusers' `attention_head_dim` means the head count when
    /// `num_attention_heads` is absent).
    public var heads: [Int]
    public var transformerLayers: [Int]
    public var linearProjection, flipSinToCos: Bool
    public var freqShift: Int
    public var normEps: Float

    public init(_ file: ConfigFile) throws {
        inChannels = try file.int("in_channels", default: 4, in: ModelLimits.imageChannels)
        outChannels = try file.int("out_channels", default: 4, in: ModelLimits.imageChannels)
        blockChannels = try file.ints("block_out_channels", in: ModelLimits.width)
        let n = blockChannels.count
        guard ModelLimits.blocks.contains(n) else {
            throw file.fail("block_out_channels", "\(n) blocks; gradti supports 1 to \(ModelLimits.blocks.upperBound)")
        }
        downBlocks = try file.strings("down_block_types")
        upBlocks = try file.strings("up_block_types")
        guard downBlocks.count == n, upBlocks.count == n else {
            throw file.fail(
                "down_block_types",
                "\(downBlocks.count) down and \(upBlocks.count) up blocks for \(n) block_out_channels")
        }
        for type in downBlocks where !["CrossAttnDownBlock2D", "DownBlock2D"].contains(type) {
            throw file.fail("down_block_types", "\"\(type)\" is not supported (CrossAttnDownBlock2D, DownBlock2D)")
        }
        for type in upBlocks where !["CrossAttnUpBlock2D", "UpBlock2D"].contains(type) {
            throw file.fail("up_block_types", "\"\(type)\" is not supported (CrossAttnUpBlock2D, UpBlock2D)")
        }
        // Absent means diffusers' default mid block; null means none.
        switch file.values["mid_block_type"] {
        case nil: midBlock = "UNetMidBlock2DCrossAttn"
        case is NSNull: midBlock = nil
        default: midBlock = try file.choice("mid_block_type", ["UNetMidBlock2DCrossAttn"])
        }
        layersPerBlock = try file.int("layers_per_block", default: 2, in: ModelLimits.layers)
        crossAttentionDim = try file.int("cross_attention_dim", default: 1280, in: ModelLimits.width)
        let headsKey =
            file.values["num_attention_heads"].map { !($0 is NSNull) } == true
            ? "num_attention_heads" : "attention_head_dim"
        heads = try file.intOrInts(
            headsKey, count: n, default: headsKey == "attention_head_dim" ? 8 : nil, in: ModelLimits.heads)
        for (channels, h) in zip(blockChannels, heads) where channels % h != 0 {
            throw file.fail(headsKey, "\(channels) channels do not split into \(h) heads")
        }
        transformerLayers = try file.intOrInts(
            "transformer_layers_per_block", count: n, default: 1, in: ModelLimits.layers)
        linearProjection = try file.bool("use_linear_projection", default: false)
        flipSinToCos = try file.bool("flip_sin_to_cos", default: true)
        freqShift = try file.int("freq_shift", default: 0, in: 0...1)
        normGroups = try file.int("norm_num_groups", default: 32, in: ModelLimits.groups)
        for channels in blockChannels where channels % normGroups != 0 {
            throw file.fail("norm_num_groups", "\(channels) channels do not split into \(normGroups) groups")
        }
        normEps = Float(try file.double("norm_eps", default: 1e-5, in: ModelLimits.eps))
        // Latents halve at each down block but the last, so the side must divide evenly.
        let downscale = 1 << (n - 1)
        sampleSize = try file.int("sample_size", default: 64, in: ModelLimits.sampleSize)
        guard sampleSize % downscale == 0 else {
            throw file.fail(
                "sample_size", "\(sampleSize) does not halve \(n - 1) times (it must be a multiple of \(downscale))")
        }
        downsamplePadding = try file.int("downsample_padding", default: 1, in: 0...1)
        _ = try file.choice("act_fn", ["silu"], default: "silu")
        _ = try file.choice("time_embedding_type", ["positional"], default: "positional")
        _ = try file.choice("resnet_time_scale_shift", ["default"], default: "default")
        _ = try file.choice("attention_type", ["default"], default: "default")
        for key in [
            "class_embed_type", "addition_embed_type", "encoder_hid_dim", "encoder_hid_dim_type", "time_cond_proj_dim",
            "num_class_embeds", "timestep_post_act", "time_embedding_dim", "time_embedding_act_fn",
            "cross_attention_norm", "projection_class_embeddings_input_dim", "addition_time_embed_dim",
            "reverse_transformer_layers_per_block"
        ] {
            try file.requireDefault(key, [])
        }
        for key in [
            "only_cross_attention", "dual_cross_attention", "center_input_sample", "resnet_skip_time_act",
            "class_embeddings_concat", "mid_block_only_cross_attention"
        ] {
            try file.requireDefault(key, [false, 0])
        }
        try file.requireDefault("mid_block_scale_factor", [1, 1.0])
        try file.requireDefault("resnet_out_scale_factor", [1, 1.0])
        try file.requireDefault("conv_in_kernel", [3])
        try file.requireDefault("conv_out_kernel", [3])
    }

    var timeEmbeddingDim: Int { blockChannels[0] * 4 }
}
