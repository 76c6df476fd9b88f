import CKernels

/// Products for attention's thin shapes through `gk_packed_product`: the B operand is packed once
/// (per head) into rows padded to whole vectors, and each product then runs on the calling thread
/// without the per-call packing that makes sgemm slow at k = 40 or n = 77.
enum PackedProducts {
    /// The leading dimension for rows of `width` floats: whole 16-float vectors, plus one when the
    /// rows would lie a multiple of 512 bytes apart (4096 keys: 16 KiB), where a column's values all
    /// fall in the same few cache sets and evict each other.
    static func leadingDimension(_ width: Int) -> Int {
        let whole = (width + 15) / 16 * 16
        return whole % 128 == 0 ? whole + 16 : whole
    }

    /// Copies the rows × cols matrix at `source` (leading dimension `ld`), or its transpose, into
    /// `destination` with leading dimension `leadingDimension` of its width, zero-filling the padding.
    static func pack(_ source: UnsafePointer<Float>, ld: Int, rows: Int, cols: Int, transpose: Bool = false,
                     into destination: UnsafeMutablePointer<Float>) {
        gk_pack(source, ld, rows, cols, transpose ? 1 : 0, destination, leadingDimension(transpose ? rows : cols))
    }

    /// C[m×n] = alpha · A·B (+ C when `accumulate`), A(i, k) = a[i·aRow + k·aDepth], B depth × n with
    /// leading dimension `ldb`, readable in whole vectors: `leadingDimension(n)` when packed by `pack`.
    static func product(m: Int, n: Int, depth: Int, alpha: Float = 1, a: UnsafePointer<Float>, aRow: Int, aDepth: Int,
                        b: UnsafePointer<Float>, ldb: Int, accumulate: Bool = false, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(ldb >= (n + 15) / 16 * 16, "PackedProducts: B's rows must hold whole vectors")
        gk_packed_product(m, n, depth, alpha, a, aRow, aDepth, b, ldb, accumulate ? 1 : 0, c, ldc)
    }

    /// destination[j·ldd + i] += source[i·lds + j] for a rows × cols source.
    static func addTransposed(_ source: UnsafePointer<Float>, lds: Int, rows: Int, cols: Int,
                              to destination: UnsafeMutablePointer<Float>, ldd: Int) {
        gk_add_transposed(source, lds, rows, cols, destination, ldd)
    }
}
