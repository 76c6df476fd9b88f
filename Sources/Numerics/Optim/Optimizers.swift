import Foundation

/// AdamW with decoupled weight decay and bias correction (Loshchilov & Hutter; as `torch.optim.AdamW`).
public final class AdamW {
    public var learningRate: Float
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public private(set) var step = 0
    public let parameters: [Tensor]
    private var m: [Tensor], v: [Tensor]

    public init(
        _ parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        eps: Float = 1e-8, weightDecay: Float = 1e-2
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        m = parameters.map { Tensor(zeros: $0.shape) }
        v = parameters.map { Tensor(zeros: $0.shape) }
    }

    /// Applies one update from the parameters' gradients (parameters without one are left as they are).
    public func update() {
        step += 1
        let c1 = 1 - powf(beta1, Float(step))
        let c2 = 1 - powf(beta2, Float(step))
        let (lr, b1, b2, eps, decay) = (learningRate, beta1, beta2, eps, weightDecay)
        for (index, parameter) in parameters.enumerated() {
            guard let grad = parameter.grad else { continue }
            let p = parameter.data
            let g = grad.data
            let pm = m[index].data
            let pv = v[index].data
            parallelChunks(parameter.count) { range in
                for i in range {
                    p[i] -= lr * decay * p[i]
                    pm[i] = b1 * pm[i] + (1 - b1) * g[i]
                    pv[i] = b2 * pv[i] + (1 - b2) * g[i] * g[i]
                    p[i] -= lr * (pm[i] / c1) / ((pv[i] / c2).squareRoot() + eps)
                }
            }
        }
    }

    public func zeroGradients() { for parameter in parameters { parameter.grad = nil } }

    /// The moments and step count, to save and restore training exactly.
    public var moments: (step: Int, first: [Tensor], second: [Tensor]) { (step, m, v) }

    public func restore(step: Int, first: [Tensor], second: [Tensor]) {
        guard first.count == m.count, second.count == v.count,
            zip(first, m).allSatisfy({ $0.shape == $1.shape }), zip(second, v).allSatisfy({ $0.shape == $1.shape })
        else { return }
        self.step = step
        m = first.map { $0.copy() }
        v = second.map { $0.copy() }
    }
}

/// Stochastic gradient descent, optionally with momentum.
public final class SGD {
    public var learningRate: Float
    public var momentum: Float
    public let parameters: [Tensor]
    private var velocity: [Tensor]

    public init(_ parameters: [Tensor], learningRate: Float, momentum: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        velocity = parameters.map { Tensor(zeros: $0.shape) }
    }

    public func update() {
        let (lr, mu) = (learningRate, momentum)
        for (index, parameter) in parameters.enumerated() {
            guard let grad = parameter.grad else { continue }
            let p = parameter.data
            let g = grad.data
            let pv = velocity[index].data
            parallelChunks(parameter.count) { range in
                for i in range {
                    pv[i] = mu * pv[i] + g[i]
                    p[i] -= lr * pv[i]
                }
            }
        }
    }

    public func zeroGradients() { for parameter in parameters { parameter.grad = nil } }
}

/// Scales all gradients down so their joint L2 norm is at most `maxNorm`; returns the norm before.
@discardableResult
public func clipGradients(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var total: Double = 0
    for parameter in parameters {
        guard let grad = parameter.grad else { continue }
        let g = grad.data
        for i in 0..<grad.count { total += Double(g[i]) * Double(g[i]) }
    }
    let norm = Float(total.squareRoot())
    if norm > maxNorm && norm > 0 {
        let scale = maxNorm / (norm + 1e-6)
        for parameter in parameters {
            guard let grad = parameter.grad else { continue }
            // Gradients may share memory with graph values: replace, don't scale in place.
            parameter.grad = grad.map { $0 * scale }
        }
    }
    return norm
}
