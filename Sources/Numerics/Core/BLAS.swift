import COpenBLAS

/// Single-precision matrix products through OpenBLAS, row-major.
public enum BLAS {
    /// The CPU kernels OpenBLAS chose (its `OPENBLAS_CORETYPE` names).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's own thread count for products.
    public static func setThreads(_ count: Int) { openblas_set_num_threads(Int32(count)) }

    /// C[m×n] = alpha · op(A) · op(B) + beta · C, with op(X) = X or Xᵀ and leading dimensions of the
    /// matrices as stored.
    @inline(__always)
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                            c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            // An empty sum: C = beta · C.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}
