import Numerics

/// What a text encoder gives the UNet: the sequence it cross-attends to, and (for families that
/// use one, such as SDXL) a pooled vector.
public struct TextConditioning {
    /// [B, L, contextWidth].
    public let context: Tensor
    /// [B, P], or nil.
    public let pooled: Tensor?

    public init(context: Tensor, pooled: Tensor?) {
        self.context = context
        self.pooled = pooled
    }
}

/// A text encoder as the pipeline and textual inversion see it: token ids → token embeddings (rows
/// of a table; textual inversion puts learned rows in place of its placeholders') → conditioning.
/// CLIP's text tower is one; LDM's LDMBert and SDXL's pair of CLIP towers fit the same shape (for a
/// pair, a token's embedding is its two rows side by side, so a learned vector spans both tables).
public protocol TextEncoder: AnyObject {
    /// Rows of the token-embedding table; ids at or above it are placeholders the caller fills.
    var vocabularySize: Int { get }
    /// The width of one token's embedding (of a learned vector).
    var tokenWidth: Int { get }
    /// The width of `TextConditioning.context` (the UNet's `cross_attention_dim`).
    var contextWidth: Int { get }
    /// The token embeddings of ids [B, L] (each below `vocabularySize`) → [B, L, tokenWidth].
    func tokenEmbeddings(_ ids: IndexTensor) -> Tensor
    /// Encodes given token embeddings [B, L, tokenWidth] of the prompts `ids` [B, L] (the ids
    /// still matter: CLIP pools at the first end-of-text token).
    func conditioning(tokenEmbeddings: Tensor, ids: IndexTensor) -> TextConditioning
}

extension TextEncoder {
    /// Encodes token ids [B, L] with the table's own embeddings.
    public func conditioning(_ ids: IndexTensor) -> TextConditioning {
        conditioning(tokenEmbeddings: tokenEmbeddings(ids), ids: ids)
    }

    /// The embedding of token `id` (a learned vector's starting point).
    public func tokenEmbedding(of id: Int) -> [Float] {
        tokenEmbeddings(IndexTensor([id], shape: [1, 1])).detached().scalars
    }
}

extension CLIPTextModel: TextEncoder {
    public var vocabularySize: Int { config.vocabularySize }
    public var tokenWidth: Int { config.hiddenSize }
    public var contextWidth: Int { config.hiddenSize }

    public func conditioning(tokenEmbeddings: Tensor, ids: IndexTensor) -> TextConditioning {
        let (last, pooled) = encode(tokenEmbeddings: tokenEmbeddings, ids: ids)
        return TextConditioning(context: last, pooled: pooled)
    }
}
