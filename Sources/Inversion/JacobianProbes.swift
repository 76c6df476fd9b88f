import Diffusion
import Foundation
import Numerics

/// An estimate of ‖∂ε_θ/∂c‖_F for one sample: the square root of the mean of ‖Jᵀv‖² over the
/// probes, and the estimator's standard error (from the probes' spread, through the square root).
public struct JacobianEstimate: Sendable, Equatable {
    public var value: Double
    public var standardError: Double

    /// From the probes' squared norms q_k = ‖Jᵀv_k‖²: √mean(q), and se ≈ se(mean q) / (2√mean q).
    init(squaredNorms q: [Double]) {
        let mean = q.reduce(0, +) / Double(max(q.count, 1))
        value = mean.squareRoot()
        guard q.count > 1, mean > 0 else {
            standardError = q.count > 1 ? 0 : .nan
            return
        }
        let variance = q.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(q.count - 1)
        standardError = (variance / Double(q.count)).squareRoot() / (2 * value)
    }
}

extension InversionSession {
    /// Hutchinson's estimate of the Frobenius norm of the UNet prediction's Jacobian with respect to
    /// the conditioning c, per sample of the batch: `probes` vector-Jacobian products Jᵀv with
    /// v ~ N(0, I) drawn from `generator`, one backward pass each through one forward pass.
    /// Changes no gradient of the session.
    func jacobianEstimates(
        ids: IndexTensor, sample: Tensor, timesteps: [Int], probes: Int, using generator: inout RandomGenerator
    ) throws -> [JacobianEstimate] {
        precondition(probes >= 1, "at least one probe")
        let length = ids.shape[1]
        return try (0..<sample.shape[0]).map { b in
            let row = IndexTensor(Array(ids.values[(b * length)..<((b + 1) * length)]), shape: [1, length])
            let c = try withoutGradients { try conditioning(row) }
            c.requiresGrad = true
            let prediction = pipeline.unet(
                sample.batchRows(b..<(b + 1)), timesteps: [Float(timesteps[b])], context: c)
            var squared: [Double] = []
            for probe in 0..<probes {
                c.grad = nil
                // The graph is kept for every probe but the last.
                prediction.backward(
                    Tensor.randn(prediction.shape, using: &generator), retainGraph: probe < probes - 1)
                guard let g = c.grad else { throw InversionError("the conditioning received no gradient") }
                var s = 0.0
                for i in 0..<g.count { s += Double(g.data[i]) * Double(g.data[i]) }
                squared.append(s)
            }
            return JacobianEstimate(squaredNorms: squared)
        }
    }
}
