import Diffusion
import Numerics

/// CLIP's text projection (transformers' `text_projection`, [projection_dim, hidden_size], no
/// bias): the text tower's pooled output into the space the image tower projects to.
final class TextProjection: ParameterizedModel {
    let parameters = ParameterTree()
    let weight: Parameter

    init(width: Int, dimension: Int, weights: ModelWeights) throws {
        weight = parameters.declare("text_projection.weight", [dimension, width])
        try parameters.bind(weights)
    }
}
