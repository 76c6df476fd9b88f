import Numerics

/// The building blocks of diffusers and transformers models, each declaring its parameters by the
/// names those libraries use.
struct Linear {
    let weight: Parameter
    let bias: Parameter?

    init(_ tree: ParameterTree, _ name: String, in inputs: Int, out outputs: Int, bias: Bool = true) {
        weight = tree.declare(name + ".weight", [outputs, inputs])
        self.bias = bias ? tree.declare(name + ".bias", [outputs]) : nil
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight.value, bias?.value) }
}

struct LayerNorm {
    let weight, bias: Parameter
    let eps: Float

    init(_ tree: ParameterTree, _ name: String, features: Int, eps: Float) {
        weight = tree.declare(name + ".weight", [features])
        bias = tree.declare(name + ".bias", [features])
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight.value, bias: bias.value, eps: eps) }
}

struct GroupNorm {
    let weight, bias: Parameter
    let groups: Int
    let eps: Float

    init(_ tree: ParameterTree, _ name: String, groups: Int, channels: Int, eps: Float) throws {
        guard channels % groups == 0 else {
            throw ModelError("\(name): \(channels) channels do not split into \(groups) groups (norm_num_groups)")
        }
        weight = tree.declare(name + ".weight", [channels])
        bias = tree.declare(name + ".bias", [channels])
        self.groups = groups
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        x.groupNorm(groups: groups, weight: weight.value, bias: bias.value, eps: eps)
    }
}

struct Conv2d {
    let weight: Parameter
    let bias: Parameter?
    let stride, padding: Int

    init(
        _ tree: ParameterTree, _ name: String, in inputs: Int, out outputs: Int, kernel: Int, stride: Int = 1,
        padding: Int = 0, bias: Bool = true
    ) {
        weight = tree.declare(name + ".weight", [outputs, inputs, kernel, kernel])
        self.bias = bias ? tree.declare(name + ".bias", [outputs]) : nil
        self.stride = stride
        self.padding = padding
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(weight.value, bias?.value, stride: stride, padding: padding)
    }
}
