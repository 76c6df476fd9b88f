/// Classification losses, fused with their softmax so the gradient is the stable softmax − one-hot.
extension Tensor {
    /// The mean cross-entropy of logits [N, C] against class indices `targets` (N of them).
    public func crossEntropy(_ targets: [Int]) -> Tensor {
        precondition(rank == 2 && targets.count == shape[0], "crossEntropy: logits \(shape), \(targets.count) targets")
        let (n, c) = (shape[0], shape[1])
        precondition(targets.allSatisfy { (0..<c).contains($0) }, "crossEntropy: a target is outside 0..<\(c)")
        let x = self
        let probabilities = Tensor(uninitialized: shape)
        var total = 0.0
        for r in 0..<n {
            let logSum = softmaxRow(x.data + r * c, probabilities.data + r * c, c)
            total += Double(logSum - x.data[r * c + targets[r]])
        }
        let saved = probabilities.storage
        return Tensor([Float(total / Double(n))], shape: []).recording("crossEntropy", [x]) { g, _ in
            let dx = Tensor(uninitialized: x.shape)
            let scale = g.item / Float(n)
            for i in 0..<(n * c) { dx.data[i] = saved.base[i] * scale }
            for r in 0..<n { dx.data[r * c + targets[r]] -= scale }
            return [dx]
        }
    }
}

extension Tensor {
    /// Each row over the last axis divided by its Euclidean norm (CLIP's embedding normalisation).
    public func l2Normalized(eps: Float = 1e-12) -> Tensor {
        let d = shape[rank - 1]
        let rows = count / max(d, 1)
        let x = self
        let out = Tensor(uninitialized: shape)
        var inverse = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            var s: Float = 0
            for j in 0..<d { s += x.data[r * d + j] * x.data[r * d + j] }
            inverse[r] = 1 / max(s.squareRoot(), eps)
            for j in 0..<d { out.data[r * d + j] = x.data[r * d + j] * inverse[r] }
        }
        let saved = out.storage
        return out.recording("l2Normalized", [x]) { g, _ in
            // d(x/|x|) = (g − y (g·y)) / |x|
            let dx = Tensor(uninitialized: x.shape)
            for r in 0..<rows {
                let y = saved.base + r * d
                let gr = g.data + r * d
                var dot: Float = 0
                for j in 0..<d { dot += gr[j] * y[j] }
                for j in 0..<d { dx.data[r * d + j] = (gr[j] - y[j] * dot) * inverse[r] }
            }
            return [dx]
        }
    }
}
