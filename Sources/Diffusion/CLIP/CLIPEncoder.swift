import Numerics

/// The transformer stack shared by CLIP's text and vision towers: pre-norm layers of multi-head
/// self-attention (causal for text) and an MLP with quick_gelu or gelu.
struct CLIPEncoder {
    struct Layer {
        let norm1, norm2: LayerNorm
        let q, k, v, out, fc1, fc2: Linear
    }

    let layers: [Layer]
    let heads: Int
    let activation: String

    init(
        _ tree: ParameterTree, prefix: String, count: Int, width: Int, intermediate: Int, heads: Int,
        activation: String,
        eps: Float
    ) {
        layers = (0..<count).map { i in
            let p = "\(prefix)encoder.layers.\(i)."
            return Layer(
                norm1: LayerNorm(tree, p + "layer_norm1", features: width, eps: eps),
                norm2: LayerNorm(tree, p + "layer_norm2", features: width, eps: eps),
                q: Linear(tree, p + "self_attn.q_proj", in: width, out: width),
                k: Linear(tree, p + "self_attn.k_proj", in: width, out: width),
                v: Linear(tree, p + "self_attn.v_proj", in: width, out: width),
                out: Linear(tree, p + "self_attn.out_proj", in: width, out: width),
                fc1: Linear(tree, p + "mlp.fc1", in: width, out: intermediate),
                fc2: Linear(tree, p + "mlp.fc2", in: intermediate, out: width))
        }
        self.heads = heads
        self.activation = activation
    }

    func callAsFunction(_ input: Tensor, causal: Bool) -> Tensor {
        var x = input
        for layer in layers {
            let h = layer.norm1(x)
            x = x + layer.out(Tensor.attention(layer.q(h), layer.k(h), layer.v(h), heads: heads, causal: causal))
            let m = layer.fc1(layer.norm2(x))
            x = x + layer.fc2(activation == "gelu" ? m.gelu() : m.quickGelu())
        }
        return x
    }
}
