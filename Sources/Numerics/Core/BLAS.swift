import CKernels
import COpenBLAS
import Dispatch

/// Single-precision matrix products through OpenBLAS, row-major.
///
/// OpenBLAS runs single-threaded; large products are split into blocks of rows or columns run on
/// the engine's own threads. One pool of threads for everything: OpenBLAS's workers otherwise
/// spin between calls and take the cores away from the engine's parallel loops.
public enum BLAS {
    private static let singleThreaded: Void = { openblas_set_num_threads(1) }()

    /// The CPU kernels OpenBLAS chose (its `OPENBLAS_CORETYPE` names).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The kernels to ask OpenBLAS for when it fell back to its SSE3 ones ("Prescott") on a CPU it does
    /// not know but that runs AVX-512 or AVX2 (Debian 12's OpenBLAS 0.3.21 on Sapphire Rapids: products
    /// 5x slower). nil when OpenBLAS chose well or `OPENBLAS_CORETYPE` is set already.
    public static func betterCoreType(environment: [String: String]) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil, coreName.lowercased() == "prescott" else { return nil }
        switch gk_cpu_vector_level() {
        case 2: return "SkylakeX"
        case 1: return "Haswell"
        default: return nil
        }
    }

    /// Products below this many multiply-adds run on one thread.
    static let parallelThreshold = 1 << 22

    /// C[m×n] = alpha · op(A) · op(B) + beta · C, with op(X) = X or Xᵀ and leading dimensions of the
    /// matrices as stored.
    @inline(__always)
    public static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = singleThreaded
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            // An empty sum: C = beta · C.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        let threads = Threads.count
        guard threads > 1, m * n * k >= parallelThreshold else {
            call(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        // Split the longer side of C into one block per thread (blocks of 16 keep kernels aligned).
        let splitRows = m >= n
        let length = splitRows ? m : n
        let block = ((length + threads - 1) / threads + 15) / 16 * 16
        let blocks = (length + block - 1) / block
        DispatchQueue.concurrentPerform(iterations: blocks) { index in
            let start = index * block
            let size = min(block, length - start)
            if splitRows {
                // Rows of op(A) and of C.
                let aBlock = transA ? a + start : a + start * lda
                call(transA, transB, size, n, k, alpha, aBlock, lda, b, ldb, beta, c + start * ldc, ldc)
            } else {
                // Columns of op(B) and of C.
                let bBlock = transB ? b + start * ldb : b + start
                call(transA, transB, m, size, k, alpha, a, lda, bBlock, ldb, beta, c + start, ldc)
            }
        }
    }

    @inline(__always)
    private static func call(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}
