import Foundation
import Numerics

/// diffusers' `AutoencoderKL`: images [B, 3, H, W] in −1...1 to a diagonal Gaussian over latents
/// [B, L, H/f, W/f] and back.
public final class AutoencoderKL: ParameterizedModel {
    public struct Config: Sendable {
        public var inChannels, outChannels, latentChannels, layersPerBlock, normGroups, sampleSize: Int
        public var blockChannels: [Int]
        public var scalingFactor: Float
        public var useQuantConv, usePostQuantConv, midAttention: Bool

        public init(_ file: ConfigFile) throws {
            inChannels = try file.int("in_channels", default: 3, in: ModelLimits.imageChannels)
            outChannels = try file.int("out_channels", default: 3, in: ModelLimits.imageChannels)
            latentChannels = try file.int("latent_channels", default: 4, in: ModelLimits.imageChannels)
            layersPerBlock = try file.int("layers_per_block", default: 1, in: ModelLimits.layers)
            normGroups = try file.int("norm_num_groups", default: 32, in: ModelLimits.groups)
            blockChannels = try file.ints("block_out_channels", in: ModelLimits.width)
            guard ModelLimits.blocks.contains(blockChannels.count) else {
                throw file.fail(
                    "block_out_channels",
                    "\(blockChannels.count) blocks; gradti supports 1 to \(ModelLimits.blocks.upperBound)")
            }
            for channels in blockChannels where channels % normGroups != 0 {
                throw file.fail("norm_num_groups", "\(channels) channels do not split into \(normGroups) groups")
            }
            sampleSize = try file.int("sample_size", default: 32, in: ModelLimits.sampleSize)
            scalingFactor = Float(try file.double("scaling_factor", default: 0.18215, in: 1e-6...1e6))
            useQuantConv = try file.bool("use_quant_conv", default: true)
            usePostQuantConv = try file.bool("use_post_quant_conv", default: true)
            midAttention = try file.bool("mid_block_add_attention", default: true)
            for type in try file.strings("down_block_types") where type != "DownEncoderBlock2D" {
                throw file.fail("down_block_types", "\"\(type)\" is not supported (DownEncoderBlock2D)")
            }
            for type in try file.strings("up_block_types") where type != "UpDecoderBlock2D" {
                throw file.fail("up_block_types", "\"\(type)\" is not supported (UpDecoderBlock2D)")
            }
            _ = try file.choice("act_fn", ["silu"], default: "silu")
            try file.requireDefault("shift_factor", [])
            try file.requireDefault("latents_mean", [])
            try file.requireDefault("latents_std", [])
        }

        /// How much smaller latents are than images.
        public var downscale: Int { 1 << (blockChannels.count - 1) }
    }

    /// The VAE's single-head self-attention over the mid-block feature map.
    struct MidAttention {
        let norm: GroupNorm
        let q, k, v, out: Linear

        init(_ tree: ParameterTree, _ name: String, channels: Int, groups: Int) throws {
            norm = try GroupNorm(tree, name + ".group_norm", groups: groups, channels: channels, eps: 1e-6)
            q = Linear(tree, name + ".to_q", in: channels, out: channels)
            k = Linear(tree, name + ".to_k", in: channels, out: channels)
            v = Linear(tree, name + ".to_v", in: channels, out: channels)
            out = Linear(tree, name + ".to_out.0", in: channels, out: channels)
        }

        func callAsFunction(_ x: Tensor) -> Tensor {
            let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
            let tokens = norm(x).reshaped([n, c, h * w]).permuted([0, 2, 1])
            let attended = out(Tensor.attention(q(tokens), k(tokens), v(tokens), heads: 1))
            return attended.permuted([0, 2, 1]).reshaped([n, c, h, w]) + x
        }
    }

    struct MidBlock {
        let first, second: ResnetBlock
        let attention: MidAttention?

        init(_ tree: ParameterTree, _ name: String, channels: Int, groups: Int, attention: Bool) throws {
            first = try ResnetBlock(
                tree, name + ".resnets.0", in: channels, out: channels, timeChannels: nil, groups: groups, eps: 1e-6)
            self.attention =
                attention ? try MidAttention(tree, name + ".attentions.0", channels: channels, groups: groups) : nil
            second = try ResnetBlock(
                tree, name + ".resnets.1", in: channels, out: channels, timeChannels: nil, groups: groups, eps: 1e-6)
        }

        func callAsFunction(_ x: Tensor) -> Tensor {
            var h = first(x, time: nil)
            if let attention { h = attention(h) }
            return second(h, time: nil)
        }
    }

    public let config: Config
    public let parameters: ParameterTree
    let encoderIn, encoderOut, decoderIn, decoderOut: Conv2d
    let encoderBlocks: [(resnets: [ResnetBlock], downsample: Conv2d?)]
    let decoderBlocks: [(resnets: [ResnetBlock], upsample: Conv2d?)]
    let encoderMid, decoderMid: MidBlock
    let encoderNorm, decoderNorm: GroupNorm
    let quantConv, postQuantConv: Conv2d?

    /// Loads a `vae/` folder.
    public convenience init(folder: URL, variant: String? = nil) throws {
        try self.init(
            config: Config(ConfigFile(folder.appendingPathComponent("config.json"))),
            weights: .checkpoint(
                CheckpointFiles(
                    folder: folder, names: ["diffusion_pytorch_model.safetensors"], renaming: Self.deprecatedAttention,
                    variant: variant)))
    }

    /// The attention of VAEs saved before diffusers 0.14 (every SD VAE of 2022): `query`, `key`, `value` and
    /// `proj_attn`, which diffusers renames on load to `to_q`, `to_k`, `to_v` and `to_out.0` (same shapes).
    static func deprecatedAttention(_ name: String) -> String {
        guard name.contains(".attentions.") else { return name }
        let renames = [(".query.", ".to_q."), (".key.", ".to_k."), (".value.", ".to_v."), (".proj_attn.", ".to_out.0.")]
        for (old, new) in renames where name.contains(old) { return name.replacingOccurrences(of: old, with: new) }
        return name
    }

    /// Builds the architecture of `config`, then binds its parameters to `weights`.
    public init(config: Config, weights: ModelWeights) throws {
        let tree = ParameterTree()
        self.config = config
        let channels = config.blockChannels
        let n = channels.count
        let groups = config.normGroups
        let latent = config.latentChannels

        encoderIn = Conv2d(tree, "encoder.conv_in", in: config.inChannels, out: channels[0], kernel: 3, padding: 1)
        var previous = channels[0]
        encoderBlocks = try (0..<n).map { i in
            let name = "encoder.down_blocks.\(i)"
            let resnets = try (0..<config.layersPerBlock).map { j in
                try ResnetBlock(
                    tree, "\(name).resnets.\(j)", in: j == 0 ? previous : channels[i], out: channels[i],
                    timeChannels: nil, groups: groups, eps: 1e-6)
            }
            previous = channels[i]
            // Padding is applied by hand (right and bottom by one) before this stride-2 convolution.
            let downsample =
                i < n - 1
                ? Conv2d(
                    tree, "\(name).downsamplers.0.conv", in: channels[i], out: channels[i],
                    kernel: 3, stride: 2) : nil
            return (resnets, downsample)
        }
        encoderMid = try MidBlock(
            tree, "encoder.mid_block", channels: channels[n - 1], groups: groups, attention: config.midAttention)
        encoderNorm = try GroupNorm(
            tree, "encoder.conv_norm_out", groups: groups, channels: channels[n - 1], eps: 1e-6)
        encoderOut = Conv2d(tree, "encoder.conv_out", in: channels[n - 1], out: 2 * latent, kernel: 3, padding: 1)
        quantConv =
            config.useQuantConv ? Conv2d(tree, "quant_conv", in: 2 * latent, out: 2 * latent, kernel: 1) : nil

        postQuantConv =
            config.usePostQuantConv ? Conv2d(tree, "post_quant_conv", in: latent, out: latent, kernel: 1) : nil
        let reversed = Array(channels.reversed())
        decoderIn = Conv2d(tree, "decoder.conv_in", in: latent, out: reversed[0], kernel: 3, padding: 1)
        decoderMid = try MidBlock(
            tree, "decoder.mid_block", channels: reversed[0], groups: groups, attention: config.midAttention)
        previous = reversed[0]
        decoderBlocks = try (0..<n).map { i in
            let name = "decoder.up_blocks.\(i)"
            let resnets = try (0...config.layersPerBlock).map { j in
                try ResnetBlock(
                    tree, "\(name).resnets.\(j)", in: j == 0 ? previous : reversed[i], out: reversed[i],
                    timeChannels: nil, groups: groups, eps: 1e-6)
            }
            previous = reversed[i]
            let upsample =
                i < n - 1
                ? Conv2d(
                    tree, "\(name).upsamplers.0.conv", in: reversed[i], out: reversed[i],
                    kernel: 3, padding: 1) : nil
            return (resnets, upsample)
        }
        decoderNorm = try GroupNorm(tree, "decoder.conv_norm_out", groups: groups, channels: channels[0], eps: 1e-6)
        decoderOut = Conv2d(
            tree, "decoder.conv_out", in: channels[0], out: config.outChannels, kernel: 3, padding: 1)
        parameters = tree
        try tree.bind(weights)
    }

    /// The posterior's mean and log-variance (clamped to −30...20 as diffusers does) for `image`.
    public func encode(_ image: Tensor) -> (mean: Tensor, logVariance: Tensor) {
        var h = encoderIn(image)
        for block in encoderBlocks {
            for resnet in block.resnets { h = resnet(h, time: nil) }
            if let downsample = block.downsample { h = downsample(h.padded(bottom: 1, right: 1)) }
        }
        h = encoderOut(encoderNorm(encoderMid(h)).silu())
        if let quantConv { h = quantConv(h) }
        let moments = h.chunked(2, axis: 1)
        return (moments[0], moments[1].clamped(-30, 20))
    }

    /// A latent drawn from the posterior: mean + exp(logvar / 2) · ε.
    public func sample(mean: Tensor, logVariance: Tensor, using generator: inout RandomGenerator) -> Tensor {
        mean + (logVariance * 0.5).exp() * Tensor.randn(mean.shape, using: &generator)
    }

    /// Images for `latents` (already divided by the scaling factor).
    public func decode(_ latents: Tensor) -> Tensor {
        var h = decoderIn(postQuantConv?(latents) ?? latents)
        h = decoderMid(h)
        for block in decoderBlocks {
            for resnet in block.resnets { h = resnet(h, time: nil) }
            if let upsample = block.upsample { h = upsample(h.upsampleNearest2x()) }
        }
        return decoderOut(decoderNorm(h).silu())
    }
}
