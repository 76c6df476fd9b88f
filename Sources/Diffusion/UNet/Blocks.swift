import Foundation
import Numerics

/// diffusers' `ResnetBlock2D` (time embedding added after the first convolution, default scale shift).
struct ResnetBlock {
    let norm1, norm2: GroupNorm
    let conv1, conv2: Conv2d
    let timeProjection: Linear?
    let shortcut: Conv2d?

    init(
        _ tree: ParameterTree, _ name: String, in inputs: Int, out outputs: Int, timeChannels: Int?, groups: Int,
        eps: Float
    ) throws {
        norm1 = try GroupNorm(tree, name + ".norm1", groups: groups, channels: inputs, eps: eps)
        conv1 = Conv2d(tree, name + ".conv1", in: inputs, out: outputs, kernel: 3, padding: 1)
        timeProjection = timeChannels.map { Linear(tree, name + ".time_emb_proj", in: $0, out: outputs) }
        norm2 = try GroupNorm(tree, name + ".norm2", groups: groups, channels: outputs, eps: eps)
        conv2 = Conv2d(tree, name + ".conv2", in: outputs, out: outputs, kernel: 3, padding: 1)
        shortcut =
            inputs != outputs ? Conv2d(tree, name + ".conv_shortcut", in: inputs, out: outputs, kernel: 1) : nil
    }

    func callAsFunction(_ x: Tensor, time: Tensor?) -> Tensor {
        var h = conv1(norm1(x).silu())
        if let timeProjection, let time {
            let t = timeProjection(time.silu())
            h = h + t.reshaped([t.shape[0], t.shape[1], 1, 1])
        }
        h = conv2(norm2(h).silu())
        return (shortcut?(x) ?? x) + h
    }
}

/// diffusers' `Attention` as used by `BasicTransformerBlock`: q/k/v without bias, an output projection.
struct AttentionLayer {
    let q, k, v, out: Linear
    let heads: Int

    init(_ tree: ParameterTree, _ name: String, channels: Int, contextChannels: Int, heads: Int) {
        q = Linear(tree, name + ".to_q", in: channels, out: channels, bias: false)
        k = Linear(tree, name + ".to_k", in: contextChannels, out: channels, bias: false)
        v = Linear(tree, name + ".to_v", in: contextChannels, out: channels, bias: false)
        out = Linear(tree, name + ".to_out.0", in: channels, out: channels)
        self.heads = heads
    }

    func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
        let c = context ?? x
        return out(Tensor.attention(q(x), k(c), v(c), heads: heads))
    }
}

/// Self-attention, cross-attention to the conditioning, GEGLU feed-forward; pre-norm residuals.
struct TransformerBlock {
    let norm1, norm2, norm3: LayerNorm
    let selfAttention, crossAttention: AttentionLayer
    let feedIn, feedOut: Linear

    init(_ tree: ParameterTree, _ name: String, channels: Int, contextChannels: Int, heads: Int) {
        norm1 = LayerNorm(tree, name + ".norm1", features: channels, eps: 1e-5)
        selfAttention = AttentionLayer(
            tree, name + ".attn1", channels: channels, contextChannels: channels, heads: heads)
        norm2 = LayerNorm(tree, name + ".norm2", features: channels, eps: 1e-5)
        crossAttention = AttentionLayer(
            tree, name + ".attn2", channels: channels, contextChannels: contextChannels, heads: heads)
        norm3 = LayerNorm(tree, name + ".norm3", features: channels, eps: 1e-5)
        feedIn = Linear(tree, name + ".ff.net.0.proj", in: channels, out: channels * 8)
        feedOut = Linear(tree, name + ".ff.net.2", in: channels * 4, out: channels)
    }

    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        var h = x + selfAttention(norm1(x))
        h = h + crossAttention(norm2(h), context: context)
        return h + feedOut(feedIn(norm3(h)).geglu())
    }
}

/// diffusers' `Transformer2DModel` over an NCHW feature map, with conv or linear projections.
struct SpatialTransformer {
    let norm: GroupNorm
    let projectIn, projectOut: Conv2d?
    let linearIn, linearOut: Linear?
    let blocks: [TransformerBlock]

    init(
        _ tree: ParameterTree, _ name: String, channels: Int, contextChannels: Int, heads: Int, layers: Int,
        groups: Int, linear: Bool
    ) throws {
        norm = try GroupNorm(tree, name + ".norm", groups: groups, channels: channels, eps: 1e-6)
        if linear {
            linearIn = Linear(tree, name + ".proj_in", in: channels, out: channels)
            linearOut = Linear(tree, name + ".proj_out", in: channels, out: channels)
            projectIn = nil
            projectOut = nil
        } else {
            projectIn = Conv2d(tree, name + ".proj_in", in: channels, out: channels, kernel: 1)
            projectOut = Conv2d(tree, name + ".proj_out", in: channels, out: channels, kernel: 1)
            linearIn = nil
            linearOut = nil
        }
        blocks = (0..<layers).map {
            TransformerBlock(
                tree, name + ".transformer_blocks.\($0)", channels: channels, contextChannels: contextChannels,
                heads: heads)
        }
    }

    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var y = norm(x)
        if let projectIn { y = projectIn(y) }
        var tokens = y.reshaped([n, c, h * w]).permuted([0, 2, 1])
        if let linearIn { tokens = linearIn(tokens) }
        for block in blocks { tokens = block(tokens, context: context) }
        if let linearOut { tokens = linearOut(tokens) }
        y = tokens.permuted([0, 2, 1]).reshaped([n, c, h, w])
        if let projectOut { y = projectOut(y) }
        return y + x
    }
}

/// Sinusoidal timestep features as diffusers' `get_timestep_embedding`.
func timestepFeatures(_ timesteps: [Float], channels: Int, flipSinToCos: Bool, freqShift: Int) -> Tensor {
    let half = channels / 2
    var values = [Float](repeating: 0, count: timesteps.count * channels)
    for (b, t) in timesteps.enumerated() {
        for i in 0..<half {
            // In double, then rounded: matches float32 torch to rounding for t ≤ 1000.
            let frequency = exp(-log(10_000.0) * Double(i) / Double(half - freqShift))
            let angle = Double(t) * Double(Float(frequency))
            let (sine, cosine) = (Float(sin(angle)), Float(cos(angle)))
            values[b * channels + i] = flipSinToCos ? cosine : sine
            values[b * channels + half + i] = flipSinToCos ? sine : cosine
        }
    }
    return Tensor(values, shape: [timesteps.count, channels])
}
