import Numerics

/// The building blocks of diffusers and transformers models, each loading its own weights by the
/// names those libraries use.
struct Linear {
    let weight: Tensor
    let bias: Tensor?

    init(_ store: WeightStore, _ name: String, in inputs: Int, out outputs: Int, bias: Bool = true) throws {
        weight = try store.tensor(name + ".weight", [outputs, inputs])
        self.bias = bias ? try store.tensor(name + ".bias", [outputs]) : nil
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight, bias) }
}

struct LayerNorm {
    let weight, bias: Tensor
    let eps: Float

    init(_ store: WeightStore, _ name: String, features: Int, eps: Float) throws {
        weight = try store.tensor(name + ".weight", [features])
        bias = try store.tensor(name + ".bias", [features])
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

struct GroupNorm {
    let weight, bias: Tensor
    let groups: Int
    let eps: Float

    init(_ store: WeightStore, _ name: String, groups: Int, channels: Int, eps: Float) throws {
        guard channels % groups == 0 else {
            throw ModelError("\(name): \(channels) channels do not split into \(groups) groups (norm_num_groups)")
        }
        weight = try store.tensor(name + ".weight", [channels])
        bias = try store.tensor(name + ".bias", [channels])
        self.groups = groups
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.groupNorm(groups: groups, weight: weight, bias: bias, eps: eps) }
}

struct Conv2d {
    let weight: Tensor
    let bias: Tensor?
    let stride, padding: Int

    init(
        _ store: WeightStore, _ name: String, in inputs: Int, out outputs: Int, kernel: Int, stride: Int = 1,
        padding: Int = 0, bias: Bool = true
    ) throws {
        weight = try store.tensor(name + ".weight", [outputs, inputs, kernel, kernel])
        self.bias = bias ? try store.tensor(name + ".bias", [outputs]) : nil
        self.stride = stride
        self.padding = padding
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.conv2d(weight, bias, stride: stride, padding: padding) }
}
