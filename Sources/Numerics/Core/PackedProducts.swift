import CKernels
import Dispatch
import Foundation

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
    static func pack(
        _ source: UnsafePointer<Float>, ld: Int, rows: Int, cols: Int, transpose: Bool = false,
        into destination: UnsafeMutablePointer<Float>, meter: ProductMeter? = nil
    ) {
        metered(meter, flops: 0) {
            gk_pack(source, ld, rows, cols, transpose ? 1 : 0, destination, leadingDimension(transpose ? rows : cols))
        }
    }

    /// C[m×n] = alpha · A·B (+ C when `accumulate`), A(i, k) = a[i·aRow + k·aDepth], B depth × n with
    /// leading dimension `ldb`, readable in whole vectors: `leadingDimension(n)` when packed by `pack`.
    static func product(
        m: Int, n: Int, depth: Int, alpha: Float = 1, a: UnsafePointer<Float>, aRow: Int, aDepth: Int,
        b: UnsafePointer<Float>, ldb: Int, accumulate: Bool = false, c: UnsafeMutablePointer<Float>, ldc: Int,
        meter: ProductMeter? = nil
    ) {
        precondition(ldb >= (n + 15) / 16 * 16, "PackedProducts: B's rows must hold whole vectors")
        metered(meter, flops: 2 * Double(m * n * depth)) {
            gk_packed_product(m, n, depth, alpha, a, aRow, aDepth, b, ldb, accumulate ? 1 : 0, c, ldc)
        }
    }

    /// destination[j·ldd + i] += source[i·lds + j] for a rows × cols source.
    static func addTransposed(
        _ source: UnsafePointer<Float>, lds: Int, rows: Int, cols: Int,
        to destination: UnsafeMutablePointer<Float>, ldd: Int, meter: ProductMeter? = nil
    ) {
        metered(meter, flops: 0) { gk_add_transposed(source, lds, rows, cols, destination, ldd) }
    }

    /// Runs `body`, and adds its time and `flops` to `meter` if there is one. Packing and adding
    /// count as the products' time (as sgemm's packing counts in sgemm's): they exist only for them.
    @inline(__always)
    private static func metered(_ meter: ProductMeter?, flops: Double, _ body: () -> Void) {
        guard let meter else { return body() }
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        meter.add(flops: flops, nanoseconds: DispatchTime.now().uptimeNanoseconds - start)
    }
}

/// The work and time of attention's products (packing included), summed over the threads that ran
/// them: how fast the products themselves go, apart from the softmax around them. For benchmarks.
public final class ProductMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var flopCount = 0.0, nanoseconds: UInt64 = 0

    public init() {}

    func add(flops: Double, nanoseconds: UInt64) {
        lock.withLock {
            flopCount += flops
            self.nanoseconds += nanoseconds
        }
    }

    /// Floating-point operations of the products, and the seconds spent in them, summed over threads.
    public var totals: (flops: Double, threadSeconds: Double) {
        lock.withLock { (flopCount, Double(nanoseconds) / 1e9) }
    }

    public func reset() { lock.withLock { (flopCount, nanoseconds) = (0, 0) } }
}
