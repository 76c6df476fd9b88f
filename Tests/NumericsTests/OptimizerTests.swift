import Foundation
import Testing

@testable import Numerics

@Suite struct OptimizerTests {
    /// Three AdamW steps against the update rule written out in float64.
    @Test func adamWMatchesItsDefinition() {
        let start: [Float] = [0.5, -1.25, 2]
        let grads: [[Float]] = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.2, 0.0]]
        let parameter = Tensor(start, shape: [3], requiresGrad: true)
        let optimizer = AdamW([parameter], learningRate: 0.01, weightDecay: 0.1)
        var p = start.map(Double.init)
        var m = [0.0, 0, 0]
        var v = [0.0, 0, 0]
        for (t, g) in grads.enumerated() {
            parameter.grad = Tensor(g, shape: [3])
            optimizer.update()
            for i in 0..<3 {
                p[i] -= 0.01 * 0.1 * p[i]
                m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
                v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
                let mHat = m[i] / (1 - pow(0.9, Double(t + 1)))
                let vHat = v[i] / (1 - pow(0.999, Double(t + 1)))
                p[i] -= 0.01 * mHat / (vHat.squareRoot() + 1e-8)
            }
        }
        #expect(relativeError(parameter.scalars.map(Double.init), p) < 1e-6)
    }

    @Test func sgdWithMomentum() {
        let parameter = Tensor([1, 2], shape: [2], requiresGrad: true)
        let optimizer = SGD([parameter], learningRate: 0.5, momentum: 0.9)
        parameter.grad = Tensor([1, -1], shape: [2])
        optimizer.update()
        optimizer.update()
        // v1 = g, v2 = 0.9 g + g = 1.9 g; p = p0 − 0.5 (1 + 1.9) g
        let expected: [Double] = [1 - 1.45, 2 + 1.45]
        #expect(relativeError(parameter.scalars.map(Double.init), expected) < 1e-6)
    }

    @Test func clippingScalesTheJointNorm() {
        let a = Tensor([0, 0], shape: [2], requiresGrad: true)
        let b = Tensor([0], shape: [1], requiresGrad: true)
        a.grad = Tensor([3, 0], shape: [2])
        b.grad = Tensor([4], shape: [1])
        #expect(clipGradients([a, b], maxNorm: 1) == 5)
        let all: [Float] = a.grad!.scalars + b.grad!.scalars
        let norm: Float = all.map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(abs(norm - 1) < 1e-5)
    }

    /// A small regression fit converges: the engine, gradients and optimiser working together.
    @Test func fitsALinearModel() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.randn([64, 3], using: &generator)
        let truth = Tensor([1.5, -2, 0.5], shape: [1, 3])
        let y = (x * truth).sum(axis: 1)
        let w = Tensor(zeros: [1, 3], requiresGrad: true)
        let optimizer = AdamW([w], learningRate: 0.05, weightDecay: 0)
        for _ in 0..<300 {
            optimizer.zeroGradients()
            Tensor.mse((x * w).sum(axis: 1), y).backward()
            optimizer.update()
        }
        #expect(relativeError(w.scalars.map(Double.init), truth.scalars.map(Double.init)) < 1e-3)
    }
}
