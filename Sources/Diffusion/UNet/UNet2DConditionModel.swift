import Foundation
import Numerics

/// diffusers' `UNet2DConditionModel` for Stable Diffusion 1.x and 2.x: predicts the noise (or
/// velocity) in latents `sample` [B, C, H, W] at `timesteps`, conditioned on `context` [B, L, D]
/// through cross-attention.
public final class UNet2DConditionModel: ParameterizedModel {
    struct Down {
        let resnets: [ResnetBlock]
        let attentions: [SpatialTransformer]
        let downsample: Conv2d?
    }

    struct Up {
        let resnets: [ResnetBlock]
        let attentions: [SpatialTransformer]
        let upsample: Conv2d?
    }

    public let config: UNetConfig
    public let parameters: ParameterTree
    let timeLinear1, timeLinear2: Linear
    let convIn, convOut: Conv2d
    let normOut: GroupNorm
    let downs: [Down]
    let mid: (ResnetBlock, SpatialTransformer, ResnetBlock)?
    let ups: [Up]

    /// Loads a `unet/` folder.
    public convenience init(folder: URL, variant: String? = nil) throws {
        try self.init(
            config: UNetConfig(ConfigFile(folder.appendingPathComponent("config.json"))),
            weights: .checkpoint(
                CheckpointFiles(folder: folder, names: ["diffusion_pytorch_model.safetensors"], variant: variant)))
    }

    /// Builds the architecture of `config`, then binds its parameters to `weights`.
    public init(config: UNetConfig, weights: ModelWeights) throws {
        let tree = ParameterTree()
        self.config = config
        let channels = config.blockChannels
        let n = channels.count
        let (groups, eps, timeDim, context) = (
            config.normGroups, config.normEps, config.timeEmbeddingDim, config.crossAttentionDim
        )
        timeLinear1 = Linear(tree, "time_embedding.linear_1", in: channels[0], out: timeDim)
        timeLinear2 = Linear(tree, "time_embedding.linear_2", in: timeDim, out: timeDim)
        convIn = Conv2d(tree, "conv_in", in: config.inChannels, out: channels[0], kernel: 3, padding: 1)

        func transformer(_ name: String, _ c: Int, _ heads: Int, _ layers: Int) throws -> SpatialTransformer {
            try SpatialTransformer(
                tree, name, channels: c, contextChannels: context, heads: heads, layers: layers,
                groups: groups, linear: config.linearProjection)
        }

        var downs: [Down] = []
        var previous = channels[0]
        for i in 0..<n {
            let name = "down_blocks.\(i)"
            let out = channels[i]
            let hasAttention = config.downBlocks[i] == "CrossAttnDownBlock2D"
            var resnets: [ResnetBlock] = []
            var attentions: [SpatialTransformer] = []
            for j in 0..<config.layersPerBlock {
                resnets.append(
                    try ResnetBlock(
                        tree, "\(name).resnets.\(j)", in: j == 0 ? previous : out, out: out,
                        timeChannels: timeDim, groups: groups, eps: eps))
                if hasAttention {
                    attentions.append(
                        try transformer("\(name).attentions.\(j)", out, config.heads[i], config.transformerLayers[i]))
                }
            }
            let downsample =
                i < n - 1
                ? Conv2d(
                    tree, "\(name).downsamplers.0.conv", in: out, out: out, kernel: 3, stride: 2,
                    padding: config.downsamplePadding) : nil
            downs.append(Down(resnets: resnets, attentions: attentions, downsample: downsample))
            previous = out
        }
        self.downs = downs

        if config.midBlock != nil {
            let c = channels[n - 1]
            mid = (
                try ResnetBlock(
                    tree, "mid_block.resnets.0", in: c, out: c, timeChannels: timeDim, groups: groups, eps: eps),
                try transformer("mid_block.attentions.0", c, config.heads[n - 1], config.transformerLayers[n - 1]),
                try ResnetBlock(
                    tree, "mid_block.resnets.1", in: c, out: c, timeChannels: timeDim, groups: groups, eps: eps)
            )
        } else {
            mid = nil
        }

        let reversed = Array(channels.reversed())
        let reversedHeads = Array(config.heads.reversed())
        let reversedLayers = Array(config.transformerLayers.reversed())
        var ups: [Up] = []
        var previousOut = reversed[0]
        for i in 0..<n {
            let name = "up_blocks.\(i)"
            let out = reversed[i]
            let input = reversed[min(i + 1, n - 1)]
            let hasAttention = config.upBlocks[i] == "CrossAttnUpBlock2D"
            var resnets: [ResnetBlock] = []
            var attentions: [SpatialTransformer] = []
            let layers = config.layersPerBlock + 1
            for j in 0..<layers {
                let skip = j == layers - 1 ? input : out
                let resnetIn = j == 0 ? previousOut : out
                resnets.append(
                    try ResnetBlock(
                        tree, "\(name).resnets.\(j)", in: resnetIn + skip, out: out,
                        timeChannels: timeDim, groups: groups, eps: eps))
                if hasAttention {
                    attentions.append(
                        try transformer("\(name).attentions.\(j)", out, reversedHeads[i], reversedLayers[i]))
                }
            }
            let upsample =
                i < n - 1
                ? Conv2d(tree, "\(name).upsamplers.0.conv", in: out, out: out, kernel: 3, padding: 1) : nil
            ups.append(Up(resnets: resnets, attentions: attentions, upsample: upsample))
            previousOut = out
        }
        self.ups = ups
        normOut = try GroupNorm(tree, "conv_norm_out", groups: groups, channels: channels[0], eps: eps)
        convOut = Conv2d(tree, "conv_out", in: channels[0], out: config.outChannels, kernel: 3, padding: 1)
        parameters = tree
        try tree.bind(weights)
    }

    /// The prediction for `sample` [B, C, H, W] at `timesteps` (one per sample) given `context` [B, L, D].
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], context: Tensor) -> Tensor {
        let time = timeLinear2(
            timeLinear1(
                timestepFeatures(
                    timesteps, channels: config.blockChannels[0],
                    flipSinToCos: config.flipSinToCos,
                    freqShift: config.freqShift)
            ).silu())
        var h = convIn(sample)
        var skips = [h]
        for block in downs {
            for (j, resnet) in block.resnets.enumerated() {
                h = resnet(h, time: time)
                if !block.attentions.isEmpty { h = block.attentions[j](h, context: context) }
                skips.append(h)
            }
            if let downsample = block.downsample {
                h = downsample(h)
                skips.append(h)
            }
        }
        if let (first, attention, second) = mid {
            h = second(attention(first(h, time: time), context: context), time: time)
        }
        for block in ups {
            for (j, resnet) in block.resnets.enumerated() {
                h = resnet(Tensor.concatenate([h, skips.removeLast()], axis: 1), time: time)
                if !block.attentions.isEmpty { h = block.attentions[j](h, context: context) }
            }
            if let upsample = block.upsample { h = upsample(h.upsampleNearest2x()) }
        }
        return convOut(normOut(h).silu())
    }
}
