/// Matrix products on sgemm.
extension Tensor {
    /// Batched product over the last two dimensions: [..., m, k] · [..., k, n] → [..., m, n].
    /// A 2-D right operand is shared by every batch (as a weight is).
    public func matmul(_ other: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        let a = self
        let b = other
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: needs matrices, got \(a.shape) and \(b.shape)")
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (k2, n) = transposeB ? (bc, br) : (br, bc)
        precondition(k == k2, "matmul: inner sizes differ in \(a.shape) · \(b.shape)")
        let batch = a.count / (ar * ac)
        let sharedB = b.rank == 2
        precondition(sharedB || b.count / (br * bc) == batch, "matmul: batch sizes differ in \(a.shape) · \(b.shape)")
        let out = Tensor(uninitialized: Array(a.shape.dropLast(2)) + [m, n])
        for i in 0..<batch {
            BLAS.gemm(
                transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                a: a.data + i * ar * ac, lda: ac, b: b.data + (sharedB ? 0 : i * br * bc), ldb: bc,
                c: out.data + i * m * n, ldc: n)
        }
        return out.recording("matmul", [a, b]) { g, needs in
            // With A' = op(A), B' = op(B): dA' = g·B'ᵀ and dB' = A'ᵀ·g, laid out as A and B are stored.
            var da: Tensor?
            var db: Tensor?
            if needs[0] {
                let d = Tensor(uninitialized: a.shape)
                for i in 0..<batch {
                    let gi = g.data + i * m * n
                    let bi = b.data + (sharedB ? 0 : i * br * bc)
                    let di = d.data + i * ar * ac
                    if transposeA {
                        BLAS.gemm(
                            transA: transposeB, transB: true, m: k, n: m, k: n, a: bi, lda: bc, b: gi, ldb: n,
                            c: di, ldc: m)
                    } else {
                        BLAS.gemm(
                            transA: false, transB: !transposeB, m: m, n: k, k: n, a: gi, lda: n, b: bi, ldb: bc,
                            c: di, ldc: k)
                    }
                }
                da = d
            }
            if needs[1] {
                let d = Tensor(uninitialized: b.shape)
                for i in 0..<batch {
                    let gi = g.data + i * m * n
                    let ai = a.data + i * ar * ac
                    let di = d.data + (sharedB ? 0 : i * br * bc)
                    // A shared B sums its gradient over the batch.
                    let beta: Float = sharedB && i > 0 ? 1 : 0
                    if transposeB {
                        BLAS.gemm(
                            transA: true, transB: transposeA, m: n, n: k, k: m, a: gi, lda: n, b: ai, ldb: ac,
                            beta: beta, c: di, ldc: k)
                    } else {
                        BLAS.gemm(
                            transA: !transposeA, transB: false, m: k, n: n, k: m, a: ai, lda: ac, b: gi, ldb: n,
                            beta: beta, c: di, ldc: n)
                    }
                }
                db = d
            }
            return [da, db]
        }
    }

    /// `x · Wᵀ + bias` with `W` of shape [out, in], as `torch.nn.Linear`.
    public func linear(_ weight: Tensor, _ bias: Tensor? = nil) -> Tensor {
        let y = matmulFlat(weight)
        return bias.map { y + $0 } ?? y
    }

    /// [..., in] · Wᵀ with W [out, in], treating all leading dimensions as rows.
    private func matmulFlat(_ weight: Tensor) -> Tensor {
        let inFeatures = shape[rank - 1]
        precondition(
            weight.rank == 2 && weight.shape[1] == inFeatures,
            "linear: input \(shape) does not fit weight \(weight.shape)")
        let rows = count / max(inFeatures, 1)
        return reshaped([rows, inFeatures]).matmul(weight, transposeB: true)
            .reshaped(Array(shape.dropLast()) + [weight.shape[0]])
    }
}
