import CKernels

/// Softmax's inner loops, in C compiled for AVX-512, AVX2 and baseline x86-64 (chosen at load
/// time; see Sources/CKernels): libm's expf costs ~20 cycles a value and a 4096-token attention
/// layer needs 134 million of them.
enum VectorMath {
    /// row[j] = exp(row[j] − shift) for j < n (≤ 2 ulp from exp; 0 below −87.3); returns their sum.
    @inline(__always)
    static func expShifted(_ row: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        gk_exp_shifted(row, n, shift)
    }

    /// out[i] = erf(x[i]) (within a few ulp of libm's erff).
    static func erf(_ x: [Float], _ out: inout [Float]) {
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { gk_erf(xs.baseAddress!, $0.baseAddress!, xs.count) }
        }
    }

    @inline(__always)
    static func erf(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) { gk_erf(x, out, n) }

    /// Softmax numerators of `rows` rows (n scores, leading dimension ld) in place, with each row's
    /// log-sum-exp and 1/sum (a row of −∞: zeros, −∞ and 0).
    static func softmaxRows(
        _ scores: UnsafeMutablePointer<Float>, rows: Int, n: Int, ld: Int,
        logSumExp: UnsafeMutablePointer<Float>, inverse: UnsafeMutablePointer<Float>
    ) {
        gk_softmax_rows(scores, rows, n, ld, logSumExp, inverse)
    }

    /// The largest of n values (−∞ when n = 0).
    @inline(__always)
    static func maximum(_ row: UnsafePointer<Float>, _ n: Int) -> Float { gk_max(row, n) }
}
