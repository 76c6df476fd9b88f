import CKernels
import Foundation
import Testing

@testable import Numerics

@Suite struct VectorMathTests {
    @Test func expIsWithinTwoUlpOfLibm() {
        var values: [Float] = stride(from: Float(-87), to: 88.7, by: 0.00173).map { $0 }
        let inputs = values
        _ = values.withUnsafeMutableBufferPointer { VectorMath.expShifted($0.baseAddress!, $0.count, shift: 0) }
        var worst: Double = 0
        var worstAt: Float = 0
        for (x, e) in zip(inputs, values) {
            let reference = Foundation.exp(Double(x))
            let error = abs(Double(e) - reference) / Double(Float(reference).ulp)
            if error > worst {
                worst = error
                worstAt = x
            }
        }
        #expect(worst <= 2, "worst error \(worst) ulp at \(worstAt)")
    }

    @Test func edgesAndMaskedValues() {
        var edge: [Float] = [-.infinity, -100, -87.5, 0, 1, 80, -0.0, 1e-8, 88.7, -87.3]
        let sum = edge.withUnsafeMutableBufferPointer { VectorMath.expShifted($0.baseAddress!, $0.count, shift: 0) }
        #expect(edge[0] == 0 && edge[1] == 0 && edge[2] == 0 && edge[3] == 1 && edge[6] == 1)
        #expect(abs(edge[4] - 2.7182817) < 1e-6)
        #expect(edge[8].isFinite && edge[9] > 0)
        #expect(sum.isFinite)
    }

    @Test func shiftedExpAndMaximumHandleTails() {
        for n in [0, 1, 13, 16, 37] {
            var row: [Float] = (0..<n).map { Float($0) * 0.5 - 3 }
            let maximum = row.withUnsafeBufferPointer { VectorMath.maximum($0.baseAddress!, n) }
            #expect(maximum == (n == 0 ? -.infinity : Float(n - 1) * 0.5 - 3))
            let sum = row.withUnsafeMutableBufferPointer { VectorMath.expShifted($0.baseAddress!, n, shift: 3) }
            let expected = (0..<n).map { Foundation.exp(Double($0) * 0.5 - 6) }
            #expect(relativeError(row.map(Double.init), expected) < 1e-6)
            #expect(abs(Double(sum) - expected.reduce(0, +)) <= 1e-5 * max(1, expected.reduce(0, +)))
        }
    }
}

@Suite struct SoftmaxBlockTests {
    /// Attention's backward recomputes probabilities from the scores and each row's log-sum-exp: keys
    /// after a causal row's own position are 0, and a row whose log-sum-exp is −∞ (every key masked) is 0.
    @Test func recomputedProbabilitiesFollowTheMaskAndTheLogSumExp() {
        let (rows, n, ld) = (3, 5, 16)
        var scores = [Float](repeating: 7, count: rows * ld)
        for i in 0..<rows { for j in 0..<n { scores[i * ld + j] = Float(j) * 0.5 } }
        let lse: [Float] = [2, -.infinity, 3]
        var causal = scores
        gk_softmax_recompute_rows(&causal, rows, n, ld, lse, 1)  // rows 1, 2, 3 of a causal attention
        for j in 0..<n {
            // Row 0 sees keys 0...1, row 2 keys 0...3.
            let first = j <= 1 ? Foundation.exp(Double(j) * 0.5 - 2) : 0
            let third = j <= 3 ? Foundation.exp(Double(j) * 0.5 - 3) : 0
            #expect(abs(Double(causal[j]) - first) <= 1e-6 * first && (first > 0 || causal[j] == 0))
            #expect(abs(Double(causal[2 * ld + j]) - third) <= 1e-6 * third && (third > 0 || causal[2 * ld + j] == 0))
            #expect(causal[ld + j] == 0, "a row of −∞ log-sum-exp is zeros")
        }
        #expect(causal[n] == 7 && causal[2 * ld + n] == 7, "the padding after n keys is not touched")
        var full = scores
        gk_softmax_recompute_rows(&full, rows, n, ld, lse, -1)
        #expect((0..<n).allSatisfy { full[2 * ld + $0] > 0 } && full[ld] == 0)
    }

    /// dS = P ∘ (dP − Σ g∘o) row by row.
    @Test func softmaxBackwardSubtractsEachRowsOutputDotProduct() {
        let (rows, n, ld, cols, ldo) = (2, 3, 4, 19, 20)
        let p: [Float] = [0.2, 0.3, 0.5, 9, 0.1, 0.1, 0.8, 9]
        var dp: [Float] = [1, 2, 3, 9, -1, 0, 1, 9]
        let g = (0..<(rows * ldo)).map { Float($0 % 7) * 0.25 }
        let o = (0..<(rows * ldo)).map { Float($0 % 5) - 2 }
        let expected: [Float] = (0..<rows).flatMap { i -> [Float] in
            let s = (0..<cols).reduce(Float(0)) { $0 + g[i * ldo + $1] * o[i * ldo + $1] }
            return (0..<n).map { p[i * ld + $0] * (dp[i * ld + $0] - s) } + [9]
        }
        gk_softmax_backward_rows(p, &dp, rows, n, ld, g, o, cols, ldo)
        #expect(zip(dp, expected).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }, "\(dp) against \(expected)")
    }
}

@Suite struct ErfTests {
    @Test func erfIsCloseToLibm() {
        let xs: [Float] = stride(from: Float(-6), to: 6, by: 0.000731).map { $0 }
        var out = [Float](repeating: 0, count: xs.count)
        VectorMath.erf(xs, &out)
        var worstAbsolute: Double = 0
        var worstRelative: Double = 0
        for (x, e) in zip(xs, out) {
            let reference = Foundation.erf(Double(x))
            worstAbsolute = max(worstAbsolute, abs(Double(e) - reference))
            if abs(reference) > 1e-3 { worstRelative = max(worstRelative, abs(Double(e) - reference) / abs(reference)) }
        }
        #expect(worstAbsolute < 5e-7, "worst absolute error \(worstAbsolute)")
        #expect(worstRelative < 1e-6, "worst relative error \(worstRelative)")
    }
}

@Suite struct BLASKernelChoiceTests {
    /// A core type the user set is never overridden; otherwise a better one is named only when OpenBLAS
    /// fell back to its SSE3 kernels, and then one the CPU runs.
    @Test func aBetterCoreTypeOnlyReplacesTheFallback() {
        #expect(BLAS.betterCoreType(environment: ["OPENBLAS_CORETYPE": "Prescott"]) == nil)
        let suggestion = BLAS.betterCoreType(environment: [:])
        if BLAS.coreName.lowercased() == "prescott" {
            #expect(suggestion == nil || ["SkylakeX", "Haswell"].contains(suggestion!))
        } else {
            #expect(suggestion == nil)
        }
    }
}
