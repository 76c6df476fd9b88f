import Foundation
import Numerics

/// The text tower of CLIP as transformers' `CLIPTextModel`: token and position embeddings, pre-norm
/// transformer layers with causal self-attention, a final layer norm; the pooled output is the
/// hidden state at the first end-of-text token.
public final class CLIPTextModel: ParameterizedModel {
    public struct Config: Sendable {
        public var vocabularySize, hiddenSize, intermediateSize, heads, layers, positions: Int
        public var activation: String
        public var layerNormEps: Float
        public var eosTokenID: Int

        public init(_ file: ConfigFile) throws {
            vocabularySize = try file.int("vocab_size", in: ModelLimits.vocabulary)
            hiddenSize = try file.int("hidden_size", in: ModelLimits.width)
            intermediateSize = try file.int("intermediate_size", in: ModelLimits.width)
            heads = try file.int("num_attention_heads", in: ModelLimits.heads)
            layers = try file.int("num_hidden_layers", in: ModelLimits.layers)
            positions = try file.int("max_position_embeddings", default: 77, in: ModelLimits.positions)
            activation = try file.choice("hidden_act", ["quick_gelu", "gelu"], default: "quick_gelu")
            layerNormEps = Float(try file.double("layer_norm_eps", default: 1e-5, in: ModelLimits.eps))
            eosTokenID = try file.int("eos_token_id", default: 49407, in: 0...(vocabularySize - 1))
            guard hiddenSize % heads == 0 else {
                throw file.fail("num_attention_heads", "hidden_size \(hiddenSize) does not split into \(heads) heads")
            }
        }
    }

    public let config: Config
    public let parameters: ParameterTree
    /// The token embedding table [V, D].
    let tokenEmbedding: Parameter
    let positionEmbedding: Parameter
    let encoder: CLIPEncoder
    let finalNorm: LayerNorm

    /// Loads a `text_encoder/` folder (keys with or without the `text_model.` prefix).
    public convenience init(folder: URL, variant: String? = nil) throws {
        try self.init(
            config: Config(ConfigFile(folder.appendingPathComponent("config.json"))),
            weights: .checkpoint(
                CheckpointFiles(
                    folder: folder, names: ["model.safetensors"], optionalPrefix: Self.prefix,
                    ignoring: Self.buffers, variant: variant)))
    }

    /// transformers stores the text tower's weights under this prefix.
    public static let prefix = "text_model."
    /// Tensors that transformers may save beside the weights (a buffer of position indices).
    public static let buffers: Set<String> = ["embeddings.position_ids"]

    /// Builds the architecture of `config`, then binds its parameters (named without the prefix) to `weights`.
    public init(config: Config, weights: ModelWeights) throws {
        let tree = ParameterTree()
        self.config = config
        let (d, eps) = (config.hiddenSize, config.layerNormEps)
        tokenEmbedding = tree.declare("embeddings.token_embedding.weight", [config.vocabularySize, d])
        positionEmbedding = tree.declare("embeddings.position_embedding.weight", [config.positions, d])
        encoder = CLIPEncoder(
            tree, prefix: "", count: config.layers, width: d, intermediate: config.intermediateSize,
            heads: config.heads, activation: config.activation, eps: eps)
        finalNorm = LayerNorm(tree, "final_layer_norm", features: d, eps: eps)
        parameters = tree
        try tree.bind(weights)
    }

    /// The token embeddings of `ids` [B, L] → [B, L, D], before position embeddings.
    public func tokenEmbeddings(_ ids: IndexTensor) -> Tensor { tokenEmbedding.value.embedding(ids) }

    /// Encodes token ids [B, L]: the last hidden state [B, L, D] and the pooled output [B, D].
    public func callAsFunction(_ ids: IndexTensor) -> (lastHidden: Tensor, pooled: Tensor) {
        encode(tokenEmbeddings: tokenEmbeddings(ids), ids: ids)
    }

    /// Encodes given token embeddings (textual inversion substitutes its learned rows there).
    public func encode(tokenEmbeddings: Tensor, ids: IndexTensor) -> (lastHidden: Tensor, pooled: Tensor) {
        let (batch, length, d) = (tokenEmbeddings.shape[0], tokenEmbeddings.shape[1], config.hiddenSize)
        let positions = positionEmbedding.value.embedding(IndexTensor(Array(0..<length), shape: [length]))
        let last = finalNorm(encoder(tokenEmbeddings + positions, causal: true))
        // The first end-of-text token of each prompt (transformers' rule for eos_token_id != 2).
        let rows = (0..<batch).map { b -> Int in
            let row = ids.values[(b * length)..<((b + 1) * length)]
            let position =
                config.eosTokenID == 2
                ? row.indices.max { row[$0] < row[$1] }! - b * length
                : (row.firstIndex(of: config.eosTokenID).map { $0 - b * length } ?? length - 1)
            return b * length + position
        }
        let pooled = last.reshaped([batch * length, d]).embedding(IndexTensor(rows, shape: [batch]))
        return (last, pooled)
    }
}
