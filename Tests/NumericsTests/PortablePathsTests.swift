import CKernels
import Foundation
import Testing

@testable import Numerics

/// The C kernels have an AVX-512 intrinsics path and a portable one (what other CPUs run). CI runs on
/// an AVX-512 machine, so without these checks the portable path would never be exercised. What runs
/// here is the portable code's AVX-512 clone (`target_clones`): the same C, so its loops and tails.
@Suite struct PortablePathsTests {
    /// Values written after each output, which no product or exponential may touch.
    static let guardValue: Float = 12345.5
    static let guardCount = 37

    @Test(arguments: [
        (m: 1, n: 1, depth: 1, transposedA: false, accumulate: false),
        (m: 13, n: 77, depth: 40, transposedA: false, accumulate: false),  // cross-attention scores
        // Three row blocks, three panels, a partial tile.
        (m: 203, n: 130, depth: 40, transposedA: false, accumulate: true),
        (m: 40, n: 61, depth: 64, transposedA: true, accumulate: true),  // dKᵀ += Qᵀ·dS
        (m: 9, n: 40, depth: 300, transposedA: false, accumulate: false)  // P·V, a deep product
    ])
    func bothProductPathsMatchFloat64(m: Int, n: Int, depth: Int, transposedA: Bool, accumulate: Bool) {
        var generator = RandomGenerator(seed: UInt64(m * 1000 + n))
        let a = generator.normal(count: m * depth, mean: 0, std: 1)
        let ldb = PackedProducts.leadingDimension(n)
        var b = [Float](repeating: 0, count: depth * ldb)
        let values = generator.normal(count: depth * n, mean: 0, std: 1)
        for k in 0..<depth { for j in 0..<n { b[k * ldb + j] = values[k * n + j] } }
        let start = generator.normal(count: m * n, mean: 0, std: 1)
        // A(i, k) at a[i·aRow + k·aDepth]: row-major A, or A stored transposed (depth × m).
        let (aRow, aDepth) = transposedA ? (1, m) : (depth, 1)
        let alpha: Float = 0.37
        var expected = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for k in 0..<depth { sum += Double(a[i * aRow + k * aDepth]) * Double(b[k * ldb + j]) }
                expected[i * n + j] = Double(alpha) * sum + (accumulate ? Double(start[i * n + j]) : 0)
            }
        }
        let guarded = start + [Float](repeating: Self.guardValue, count: Self.guardCount)
        var dispatched = guarded
        var portable = guarded
        gk_packed_product(m, n, depth, alpha, a, aRow, aDepth, b, ldb, accumulate ? 1 : 0, &dispatched, n)
        gk_packed_product_portable(m, n, depth, alpha, a, aRow, aDepth, b, ldb, accumulate ? 1 : 0, &portable, n)
        let scale = Double(depth).squareRoot()
        for (name, result) in [("dispatched", dispatched), ("portable", portable)] {
            let worst = zip(result, expected).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(worst < 1e-5 * scale, "\(name): worst error \(worst)")
            #expect(result[(m * n)...].allSatisfy { $0 == Self.guardValue }, "\(name) wrote past C")
        }
    }

    /// The AVX-512 exponential claims the portable one's bits (with FMA): compared only where both exist.
    @Test(.enabled(if: gk_cpu_vector_level() == 2, "needs a CPU with AVX-512"))
    func exponentialsAndMaximaAreTheSameOnBothPaths() {
        var generator = RandomGenerator(seed: 7)
        for n in Array(0...40) + [77, 4096] {
            var row = generator.normal(count: n, mean: -3, std: 20)
            if n > 5 {
                row[2] = -.infinity
                row[4] = -100
            }
            let shift = row.max() ?? 0
            let guarded = row + [Float](repeating: Self.guardValue, count: Self.guardCount)
            var wide = guarded
            var narrow = guarded
            let wideSum = gk_exp_shifted(&wide, n, shift)
            let narrowSum = gk_exp_shifted_portable(&narrow, n, shift)
            #expect(wide.map(\.bitPattern) == narrow.map(\.bitPattern), "exp of \(n) values")
            #expect(wide[n...].allSatisfy { $0 == Self.guardValue }, "exp wrote past \(n) values")
            #expect(wideSum.bitPattern == narrowSum.bitPattern, "sum of \(n) values: \(wideSum) and \(narrowSum)")
            #expect(gk_max(row, n) == gk_max_portable(row, n))
        }
    }
}
