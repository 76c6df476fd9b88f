import Numerics

/// How `ModelWeights.random` draws a model's first weights. Norms' scales start at 1 and their
/// biases at 0 in every scheme; a layer is named as in the weight files (`….conv2`, `conv_out`).
public struct RandomInit: Sendable {
    public enum Scale: Sendable {
        /// Weights N(0, 1/fan_in) (LeCun normal), biases 0.
        case fanIn
        /// PyTorch's default for Linear and Conv2d, which diffusers' models start from:
        /// weights and biases U(±1/√fan_in), a third of fan-in's variance.
        case pytorch
    }

    public var scale: Scale
    /// Layers whose weight and bias start at 0 (latent diffusion's `zero_module`: the last layer of
    /// each residual branch, so that every block starts as the identity).
    public var zeroed: @Sendable (_ layer: String) -> Bool

    public init(scale: Scale, zeroed: @escaping @Sendable (_ layer: String) -> Bool = { _ in false }) {
        self.scale = scale
        self.zeroed = zeroed
    }

    public static let fanIn = RandomInit(scale: .fanIn)

    /// The first value of tensor `name`; `fanIns` holds the fan-in of each layer's weight, which
    /// layers ask for before their bias.
    func tensor(_ name: String, _ shape: [Int], fanIns: inout [String: Int], using random: inout RandomGenerator)
        -> Tensor
    {
        var path = name.split(separator: ".")
        let kind = path.popLast() ?? ""
        let layer = path.joined(separator: ".")
        let isNorm = path.last.map { $0.contains("norm") } ?? false
        if isNorm && shape.count == 1 {
            return kind == "weight" ? Tensor(repeating: 1, shape: shape) : Tensor(zeros: shape)
        }
        let fanIn = kind == "bias" ? fanIns[layer] ?? 1 : max(1, shape.dropFirst().reduce(1, *))
        if kind == "weight" { fanIns[layer] = fanIn }
        if zeroed(layer) { return Tensor(zeros: shape) }
        switch (scale, kind) {
        case (.fanIn, "bias"): return Tensor(zeros: shape)
        case (.fanIn, _): return Tensor.randn(shape, std: 1 / Float(fanIn).squareRoot(), using: &random)
        case (.pytorch, _):
            let bound = 1 / Float(fanIn).squareRoot()
            return Tensor.uniform(shape, in: -bound...bound, using: &random)
        }
    }
}
