import Foundation
import Graphics
import Numerics

/// The image tower of CLIP as transformers' `CLIPVisionModelWithProjection`: patch embedding, a
/// class token, position embeddings, pre-layer-norm, the transformer, the class token's
/// post-layer-norm, and a projection to the joint image-text space. gradti uses it for CLIP image
/// similarity.
public final class CLIPVisionModel: ParameterizedModel {
    public struct Config: Sendable {
        public var hiddenSize, intermediateSize, heads, layers, imageSize, patchSize, projectionDim, channels: Int
        public var activation: String
        public var layerNormEps: Float

        public init(_ file: ConfigFile) throws {
            hiddenSize = try file.int("hidden_size", in: ModelLimits.width)
            intermediateSize = try file.int("intermediate_size", in: ModelLimits.width)
            heads = try file.int("num_attention_heads", in: ModelLimits.heads)
            layers = try file.int("num_hidden_layers", in: ModelLimits.layers)
            imageSize = try file.int("image_size", in: ModelLimits.sampleSize)
            patchSize = try file.int("patch_size", in: 1...imageSize)
            projectionDim = try file.int("projection_dim", in: ModelLimits.width)
            channels = try file.int("num_channels", default: 3, in: ModelLimits.imageChannels)
            activation = try file.choice("hidden_act", ["quick_gelu", "gelu"], default: "quick_gelu")
            layerNormEps = Float(try file.double("layer_norm_eps", default: 1e-5, in: ModelLimits.eps))
            guard imageSize % patchSize == 0 else {
                throw file.fail("patch_size", "\(patchSize) does not divide image_size \(imageSize)")
            }
            guard hiddenSize % heads == 0 else {
                throw file.fail("num_attention_heads", "\(hiddenSize) does not split into \(heads) heads")
            }
        }

        var patches: Int { (imageSize / patchSize) * (imageSize / patchSize) }
    }

    /// CLIP's pixel normalisation (OpenAI's dataset statistics).
    public static let mean: [Float] = [0.481_454_66, 0.457_827_5, 0.408_210_73]
    public static let std: [Float] = [0.268_629_54, 0.261_302_58, 0.275_777_11]

    public let config: Config
    public let parameters: ParameterTree
    let patchEmbedding, classEmbedding, positionEmbedding: Parameter
    let preNorm, postNorm: LayerNorm
    let encoder: CLIPEncoder
    let projection: Linear

    /// Loads an `image_encoder/` folder.
    public convenience init(folder: URL, variant: String? = nil) throws {
        try self.init(
            config: Config(ConfigFile(folder.appendingPathComponent("config.json"))),
            weights: .checkpoint(
                CheckpointFiles(folder: folder, names: ["model.safetensors"], ignoring: Self.buffers, variant: variant))
        )
    }

    /// Tensors that transformers may save beside the weights (a buffer of position indices).
    public static let buffers: Set<String> = ["vision_model.embeddings.position_ids"]

    /// Builds the architecture of `config`, then binds its parameters to `weights`.
    public init(config: Config, weights: ModelWeights) throws {
        let tree = ParameterTree()
        self.config = config
        let d = config.hiddenSize
        patchEmbedding = tree.declare(
            "vision_model.embeddings.patch_embedding.weight", [d, config.channels, config.patchSize, config.patchSize])
        classEmbedding = tree.declare("vision_model.embeddings.class_embedding", [d])
        positionEmbedding = tree.declare(
            "vision_model.embeddings.position_embedding.weight", [config.patches + 1, d])
        preNorm = LayerNorm(tree, "vision_model.pre_layrnorm", features: d, eps: config.layerNormEps)
        encoder = CLIPEncoder(
            tree, prefix: "vision_model.", count: config.layers, width: d, intermediate: config.intermediateSize,
            heads: config.heads, activation: config.activation, eps: config.layerNormEps)
        postNorm = LayerNorm(tree, "vision_model.post_layernorm", features: d, eps: config.layerNormEps)
        projection = Linear(tree, "visual_projection", in: d, out: config.projectionDim, bias: false)
        parameters = tree
        try tree.bind(weights)
    }

    /// Normalised pixel values [B, 3, S, S] → (last hidden state [B, 1 + patches, D], image embeddings [B, P]).
    public func callAsFunction(_ pixels: Tensor) -> (lastHidden: Tensor, imageEmbeds: Tensor) {
        let batch = pixels.shape[0]
        let d = config.hiddenSize
        let patches = pixels.conv2d(patchEmbedding.value, stride: config.patchSize)  // [B, D, g, g]
            .reshaped([batch, d, config.patches]).permuted([0, 2, 1])
        let classTokens = Tensor.concatenate(
            Array(repeating: classEmbedding.value.reshaped([1, 1, d]), count: batch), axis: 0)
        let tokens =
            Tensor.concatenate([classTokens, patches], axis: 1)
            + positionEmbedding.value.reshaped([1, config.patches + 1, d])
        let last = encoder(preNorm(tokens), causal: false)
        let first = last.chunked(1 + config.patches, axis: 1)[0].reshaped([batch, d])
        return (last, projection(postNorm(first)))
    }

    /// An image as the model's input: resized to the model's size (area when shrinking, bilinear
    /// when enlarging) after a center square crop, then normalised with CLIP's statistics.
    public func pixels(_ image: Image) -> Tensor {
        let prepared = image.prepared(size: config.imageSize)
        let plane = config.imageSize * config.imageSize
        var values = prepared.pixels
        for c in 0..<3 {
            for i in 0..<plane { values[c * plane + i] = (values[c * plane + i] - Self.mean[c]) / Self.std[c] }
        }
        return Tensor(values, shape: [1, 3, config.imageSize, config.imageSize])
    }

    /// Unit-length image embeddings [N, P] of `images` (one batch; differentiable, for training).
    public func embeddings(_ images: [Image]) -> Tensor {
        self(Tensor.concatenate(images.map(pixels), axis: 0)).imageEmbeds.l2Normalized()
    }

    /// Unit-length image embeddings, for cosine similarity.
    public func embed(_ images: [Image]) -> [[Float]] {
        guard !images.isEmpty else { return [] }
        let values = withoutGradients { embeddings(images) }
        let p = config.projectionDim
        return (0..<images.count).map { Array(values.scalars[($0 * p)..<(($0 + 1) * p)]) }
    }
}
