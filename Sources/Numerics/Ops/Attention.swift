import Foundation

/// Scaled dot-product attention over several heads, in query chunks.
///
/// Only queries, keys, values, the output and one log-sum-exp per query row are kept for backward;
/// the attention probabilities are recomputed chunk by chunk there. So a 4096-token self-attention
/// never holds its 4096² probability matrix (512 MiB for 8 heads), forward or backward, and the
/// chunk size does not change the results.
public enum AttentionTuning {
    /// Scores held per chunk: small enough to stay in a core's cache between the products and
    /// the softmax, large enough for efficient products.
    nonisolated(unsafe) public static var chunkElements = 1 << 22
}

extension Tensor {
    /// - Parameters: q [B, Lq, H·D], k [B, Lk, H·D], v [B, Lk, H·Dv]; `causal` masks keys after each
    ///   query (Lq = Lk). Returns [B, Lq, H·Dv]. `chunkRows` bounds the rows of probabilities held at once.
    public static func attention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, causal: Bool = false,
                                 chunkRows: Int? = nil) -> Tensor {
        precondition(q.rank == 3 && k.rank == 3 && v.rank == 3, "attention: expects [B, L, C] inputs")
        let (batch, lq, hd) = (q.shape[0], q.shape[1], q.shape[2])
        let (lk, hdv) = (k.shape[1], v.shape[2])
        precondition(k.shape[0] == batch && v.shape[0] == batch && k.shape[2] == hd && v.shape[1] == lk,
                     "attention: shapes \(q.shape), \(k.shape), \(v.shape) do not fit")
        precondition(hd % heads == 0 && hdv % heads == 0, "attention: \(hd) channels do not split into \(heads) heads")
        precondition(!causal || lq == lk, "attention: a causal mask needs as many queries as keys")
        let d = hd / heads, dv = hdv / heads
        let scale = 1 / Float(d).squareRoot()
        let rowsPerChunk = max(1, min(lq, chunkRows ?? max(1, AttentionTuning.chunkElements / max(lk, 1))))
        let out = Tensor(uninitialized: [batch, lq, hdv])
        var logSumExp = [Float](repeating: 0, count: batch * heads * lq)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerChunk * lk)
        defer { scores.deallocate() }

        logSumExp.withUnsafeMutableBufferPointer { lse in
            for b in 0..<batch {
                for h in 0..<heads {
                    var r0 = 0
                    while r0 < lq {
                        let rows = min(rowsPerChunk, lq - r0)
                        let qc = q.data + (b * lq + r0) * hd + h * d
                        BLAS.gemm(transB: true, m: rows, n: lk, k: d, alpha: scale, a: qc, lda: hd,
                                  b: k.data + b * lk * hd + h * d, ldb: hd, c: scores, ldc: lk)
                        let base = (b * heads + h) * lq + r0
                        let oc = out.data + (b * lq + r0) * hdv + h * dv
                        var inverse = [Float](repeating: 0, count: rows)
                        inverse.withUnsafeMutableBufferPointer { inv in
                            parallelFor(rows, costPerItem: lk * 4) { i in
                                let row = scores + i * lk
                                if causal { for j in (r0 + i + 1)..<max(lk, r0 + i + 1) { row[j] = -.infinity } }
                                (lse[base + i], inv[i]) = unnormalizedSoftmaxRow(row, row, lk)
                            }
                        }
                        // O = softmax · V, normalising the Dv outputs of each row instead of its Lk weights.
                        BLAS.gemm(m: rows, n: dv, k: lk, a: scores, lda: lk, b: v.data + b * lk * hdv + h * dv, ldb: hdv,
                                  c: oc, ldc: hdv)
                        for i in 0..<rows { for j in 0..<dv { oc[i * hdv + j] *= inverse[i] } }
                        r0 += rows
                    }
                }
            }
        }

        // The closure keeps the output's memory, not the output tensor, which owns the closure.
        let outStorage = out.storage
        return out.recording("attention", [q, k, v]) { g, needs in
            let dq = needs[0] ? Tensor(uninitialized: q.shape) : nil
            let dk = needs[1] ? Tensor(zeros: k.shape) : nil
            let dv_ = needs[2] ? Tensor(zeros: v.shape) : nil
            let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerChunk * lk)
            let dp = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerChunk * lk)
            var rowDot = [Float](repeating: 0, count: rowsPerChunk)
            defer { probabilities.deallocate(); dp.deallocate() }
            for b in 0..<batch {
                for h in 0..<heads {
                    let kb = k.data + b * lk * hd + h * d, vb = v.data + b * lk * hdv + h * dv
                    var r0 = 0
                    while r0 < lq {
                        let rows = min(rowsPerChunk, lq - r0)
                        let qc = q.data + (b * lq + r0) * hd + h * d
                        let gc = g.data + (b * lq + r0) * hdv + h * dv
                        let oc = outStorage.base + (b * lq + r0) * hdv + h * dv
                        let base = (b * heads + h) * lq + r0
                        // P = exp(scale·QKᵀ − lse), recomputed.
                        BLAS.gemm(transB: true, m: rows, n: lk, k: d, alpha: scale, a: qc, lda: hd, b: kb, ldb: hd,
                                  c: probabilities, ldc: lk)
                        parallelFor(rows, costPerItem: lk * 4) { i in
                            let row = probabilities + i * lk, l = logSumExp[base + i]
                            let visible = causal ? min(lk, r0 + i + 1) : lk
                            if l == -.infinity {
                                for j in 0..<lk { row[j] = 0 }
                            } else {
                                _ = VectorMath.expShifted(row, visible, shift: l)
                                for j in visible..<lk { row[j] = 0 }
                            }
                        }
                        if let dv_ {
                            // dV += Pᵀ · dO
                            BLAS.gemm(transA: true, m: lk, n: dv, k: rows, a: probabilities, lda: lk, b: gc, ldb: hdv,
                                      beta: 1, c: dv_.data + b * lk * hdv + h * dv, ldc: hdv)
                        }
                        if dq != nil || dk != nil {
                            // dP = dO · Vᵀ; dS = P ∘ (dP − rowsum(dO ∘ O)).
                            BLAS.gemm(transB: true, m: rows, n: lk, k: dv, a: gc, lda: hdv, b: vb, ldb: hdv, c: dp, ldc: lk)
                            rowDot.withUnsafeMutableBufferPointer { dots in
                                let dots = dots.baseAddress!
                                parallelFor(rows, costPerItem: lk * 2) { i in
                                    var s: Float = 0
                                    for j in 0..<dv { s += gc[i * hdv + j] * oc[i * hdv + j] }
                                    dots[i] = s
                                    let prow = probabilities + i * lk, drow = dp + i * lk
                                    for j in 0..<lk { drow[j] = prow[j] * (drow[j] - s) }
                                }
                            }
                            if let dq {
                                // dQ = scale · dS · K
                                BLAS.gemm(m: rows, n: d, k: lk, alpha: scale, a: dp, lda: lk, b: kb, ldb: hd,
                                          c: dq.data + (b * lq + r0) * hd + h * d, ldc: hd)
                            }
                            if let dk {
                                // dK += scale · dSᵀ · Q
                                BLAS.gemm(transA: true, m: lk, n: d, k: rows, alpha: scale, a: dp, lda: lk, b: qc, ldb: hd,
                                          beta: 1, c: dk.data + b * lk * hd + h * d, ldc: hd)
                            }
                        }
                        r0 += rows
                    }
                }
            }
            return [dq, dk, dv_]
        }
    }
}
