import Foundation
import Numerics

/// CLIP's text projection (transformers' `text_projection`, [projection_dim, hidden_size], no
/// bias): the text tower's pooled output into the space the image tower projects to.
public final class TextProjection: ParameterizedModel {
    public let parameters = ParameterTree()
    public let weight: Parameter

    public init(width: Int, dimension: Int, weights: ModelWeights) throws {
        weight = parameters.declare("text_projection.weight", [dimension, width])
        try parameters.bind(weights)
    }

    /// Pooled text states [B, D] → projected [B, P].
    public func callAsFunction(_ pooled: Tensor) -> Tensor { pooled.matmul(weight.value, transposeB: true) }
}
