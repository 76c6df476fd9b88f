import Foundation
import Testing
@testable import Numerics

@Suite struct VectorMathTests {
    @Test func expIsWithinTwoUlpOfLibm() {
        var values: [Float] = stride(from: Float(-87), to: 88.7, by: 0.00173).map { $0 }
        let inputs = values
        _ = values.withUnsafeMutableBufferPointer { VectorMath.expShifted($0.baseAddress!, $0.count, shift: 0) }
        var worst: Double = 0, worstAt: Float = 0
        for (x, e) in zip(inputs, values) {
            let reference = Foundation.exp(Double(x))
            let error = abs(Double(e) - reference) / Double(Float(reference).ulp)
            if error > worst { worst = error; worstAt = x }
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

@Suite struct ErfTests {
    @Test func erfIsCloseToLibm() {
        let xs: [Float] = stride(from: Float(-6), to: 6, by: 0.000731).map { $0 }
        var out = [Float](repeating: 0, count: xs.count)
        VectorMath.erf(xs, &out)
        var worstAbsolute: Double = 0, worstRelative: Double = 0
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
