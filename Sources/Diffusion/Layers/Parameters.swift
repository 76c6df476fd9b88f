import Numerics

/// One weight of a model: its name (as the weight files spell it) and shape are fixed when the model
/// is built from its config; its values are bound afterwards, from files, a random scheme or a copy.
public final class Parameter {
    public let name: String
    public let shape: [Int]
    fileprivate var bound: Tensor?

    fileprivate init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
    }

    /// The bound values. Models bind every parameter before their initialiser returns, so an unbound
    /// parameter here is a bug in gradti, not in the user's files.
    public var value: Tensor {
        guard let bound else { preconditionFailure("parameter \(name) was used before its weights were bound") }
        return bound
    }
}

/// The parameters of a model by name, in the order the layers declared them (the order random
/// initialisation draws in, so that a seed keeps giving the same model).
public final class ParameterTree {
    public private(set) var parameters: [Parameter] = []
    private var index: [String: Int] = [:]

    public init() {}

    /// Declares the parameter `name` of `shape`; a layer keeps what this returns and reads `.value`.
    public func declare(_ name: String, _ shape: [Int]) -> Parameter {
        precondition(index[name] == nil, "parameter \(name) declared twice")
        let parameter = Parameter(name: name, shape: shape)
        index[name] = parameters.count
        parameters.append(parameter)
        return parameter
    }

    public subscript(name: String) -> Parameter? { index[name].map { parameters[$0] } }

    public var names: [String] { parameters.map(\.name) }

    public var count: Int { parameters.count }

    /// Every parameter's name and bound tensor, in declaration order (for training and saving).
    public var named: [(name: String, tensor: Tensor)] { parameters.map { ($0.name, $0.value) } }

    /// The number of weights.
    public var size: Int { parameters.map { $0.shape.reduce(1, *) }.reduce(0, +) }

    /// Binds every parameter from `weights`; throws (binding nothing it has not checked) if the
    /// weights do not fit the tree.
    public func bind(_ weights: ModelWeights) throws {
        switch weights {
        case .checkpoint(let files):
            var tensors: [Tensor] = []
            for parameter in parameters { tensors.append(try files.tensor(parameter.name, parameter.shape)) }
            try files.requireNoSurplus(beyond: Set(names))
            for (parameter, tensor) in zip(parameters, tensors) { parameter.bound = tensor }
        case .random(let seed, let scheme):
            var generator = RandomGenerator(seed: seed)
            var fanIns: [String: Int] = [:]
            for parameter in parameters {
                parameter.bound = scheme.tensor(parameter.name, parameter.shape, fanIns: &fanIns, using: &generator)
            }
        case .copy(let source):
            var tensors: [Tensor] = []
            for parameter in parameters {
                guard let original = source[parameter.name] else {
                    throw ModelError("cannot copy parameter \(parameter.name): the source model has no such tensor")
                }
                guard original.shape == parameter.shape else {
                    throw ModelError(
                        "cannot copy parameter \(parameter.name): shape \(original.shape) in the source, "
                            + "\(parameter.shape) here")
                }
                tensors.append(original.value.detached().copy())
            }
            for (parameter, tensor) in zip(parameters, tensors) { parameter.bound = tensor }
        }
    }
}

/// Where a model's weights come from.
public enum ModelWeights {
    /// A checkpoint's files, strictly: every parameter present with its shape, nothing left over.
    case checkpoint(CheckpointFiles)
    /// Drawn as `RandomInit` says, from `seed` (training from scratch, benchmarks of architectures).
    case random(seed: UInt64, RandomInit)
    /// Copies of another model's current values, matched by name (data-parallel training).
    case copy(ParameterTree)

    /// Random weights drawn with fan-in scaling.
    public static func random(seed: UInt64) -> ModelWeights { .random(seed: seed, .fanIn) }
}

/// A model whose weights live in a parameter tree.
public protocol ParameterizedModel: AnyObject {
    var parameters: ParameterTree { get }
}
