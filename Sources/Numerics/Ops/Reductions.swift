/// Sums, means and the mean-squared error, accumulated in double precision so that large
/// reductions stay accurate to float32 rounding.
extension Tensor {
    func total() -> Double {
        var partial = [Double](repeating: 0, count: Threads.count)
        let p = data
        let chunk = (count + Threads.count - 1) / max(Threads.count, 1)
        partial.withUnsafeMutableBufferPointer { sums in
            let sums = sums.baseAddress!
            parallelFor(Threads.count, costPerItem: chunk) { t in
                var s: Double = 0
                for i in (t * chunk)..<min(count, (t + 1) * chunk) { s += Double(p[i]) }
                sums[t] = s
            }
        }
        return partial.reduce(0, +)
    }

    /// The sum of all elements, as a tensor of shape [].
    public func sum() -> Tensor {
        let x = self
        return Tensor([Float(total())], shape: []).recording("sum", [x]) { g, _ in
            [Tensor(repeating: g.item, shape: x.shape)]
        }
    }

    public func mean() -> Tensor {
        let x = self
        let n = Float(max(count, 1))
        return Tensor([Float(total() / Double(max(count, 1)))], shape: []).recording("mean", [x]) { g, _ in
            [Tensor(repeating: g.item / n, shape: x.shape)]
        }
    }

    /// Sums over one axis (kept as size 1 when `keepingDimension`).
    public func sum(axis: Int, keepingDimension: Bool = false) -> Tensor {
        let axis = axis < 0 ? axis + rank : axis
        var reduced = shape
        reduced[axis] = 1
        let x = self
        let out = sum(to: reduced)
        var finalShape = reduced
        if !keepingDimension { finalShape.remove(at: axis) }
        return out.reshaped(finalShape).detached().recording("sum_axis", [x]) { g, _ in
            [g.reshaped(reduced).broadcast(to: x.shape)]
        }
    }

    /// Copies this tensor out to `target` along broadcast dimensions (no gradient recorded).
    func broadcast(to target: [Int]) -> Tensor {
        Tensor.zipBroadcast(self, Tensor(zeros: target), "broadcast", { a, _ in a })
    }

    /// mean((a − b)²), the denoising loss.
    public static func mse(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "mse: shapes \(a.shape) and \(b.shape) differ")
        let pa = a.data
        let pb = b.data
        var total: Double = 0
        for i in 0..<a.count {
            let d = Double(pa[i]) - Double(pb[i])
            total += d * d
        }
        let n = Float(max(a.count, 1))
        return Tensor([Float(total / Double(max(a.count, 1)))], shape: []).recording("mse", [a, b]) { g, needs in
            let scale = 2 * g.item / n
            let da = Tensor(uninitialized: a.shape)
            let pa = a.data
            let pb = b.data
            let pd = da.data
            parallelChunks(a.count) { range in for i in range { pd[i] = scale * (pa[i] - pb[i]) } }
            return [needs[0] ? da : nil, needs[1] ? -da : nil]
        }
    }
}
