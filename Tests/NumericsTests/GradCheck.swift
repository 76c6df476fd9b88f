import Foundation
import Testing

@testable import Numerics

/// Checks one operation against its float64 reference: the forward result, and the gradient of
/// Σ w·f(inputs) (random w) against central finite differences of the reference in float64.
struct GradCheck {
    var shapes: [[Int]]
    var seed: UInt64 = 1
    /// Inputs that stay frozen: no gradient may be produced for them.
    var frozen: Set<Int> = []
    var forwardTolerance = 1e-5
    var gradientTolerance = 1e-4
    /// Inputs are drawn from N(0, 1) unless this gives another value for (input, index).
    var value: ((Int, Int, Float) -> Float)? = nil

    func run(
        _ f32: ([Tensor]) -> Tensor, _ f64: ([[Double]]) -> [Double],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var generator = RandomGenerator(seed: seed)
        let values: [[Float]] = shapes.enumerated().map { index, shape in
            generator.normal(count: shape.reduce(1, *)).enumerated().map {
                value?(index, $0.offset, $0.element) ?? $0.element
            }
        }
        let inputs = zip(values, shapes).enumerated().map { index, pair in
            Tensor(pair.0, shape: pair.1, requiresGrad: !frozen.contains(index))
        }
        let doubles = values.map { $0.map(Double.init) }
        let output = f32(inputs)
        let expected = f64(doubles)
        #expect(output.count == expected.count, "output size", sourceLocation: sourceLocation)
        let forwardError = relativeError(output.scalars.map(Double.init), expected)
        #expect(
            forwardError < forwardTolerance, "forward relative error \(forwardError)", sourceLocation: sourceLocation)

        let weights = generator.normal(count: output.count)
        output.backward(Tensor(weights, shape: output.shape))
        let w = weights.map(Double.init)
        func loss(_ x: [[Double]]) -> Double { zip(f64(x), w).map { $0 * $1 }.reduce(0, +) }
        for (index, input) in inputs.enumerated() {
            if frozen.contains(index) {
                #expect(input.grad == nil, "frozen input \(index) got a gradient", sourceLocation: sourceLocation)
                continue
            }
            guard let grad = input.grad else {
                Issue.record("input \(index) got no gradient", sourceLocation: sourceLocation)
                continue
            }
            #expect(grad.shape == input.shape, sourceLocation: sourceLocation)
            var numeric = [Double](repeating: 0, count: input.count)
            var x = doubles
            for i in 0..<input.count {
                let h = 1e-6 * max(1, abs(doubles[index][i]))
                x[index][i] = doubles[index][i] + h
                let plus = loss(x)
                x[index][i] = doubles[index][i] - h
                let minus = loss(x)
                x[index][i] = doubles[index][i]
                numeric[i] = (plus - minus) / (2 * h)
            }
            let error = relativeError(grad.scalars.map(Double.init), numeric)
            #expect(
                error < gradientTolerance, "input \(index): gradient relative error \(error)",
                sourceLocation: sourceLocation)
        }
    }
}

/// ‖a − b‖ / ‖b‖ (or ‖a‖ when b is zero).
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    guard a.count == b.count else { return .infinity }
    let difference = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
    let norm = b.map { $0 * $0 }.reduce(0, +).squareRoot()
    return norm > 0 ? difference / norm : difference
}
