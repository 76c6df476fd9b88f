import Foundation
import Testing
@testable import Numerics

@Suite struct VectorMathTests {
    @Test func expIsWithinTwoUlpOfLibm() {
        var worst: Float = 0, worstAt: Float = 0
        var x: Float = -87
        while x < 88.5 {
            var lane = VectorMath.V(repeating: 0)
            for i in 0..<8 { lane[i] = x + Float(i) * 0.0013 }
            let e = VectorMath.exp(lane)
            for i in 0..<8 {
                let reference = Foundation.exp(Double(lane[i]))
                let ulp = Double(Float(reference).ulp)
                let error = Float(abs(Double(e[i]) - reference) / ulp)
                if error > worst { worst = error; worstAt = lane[i] }
            }
            x += 0.0173
        }
        #expect(worst <= 2, "worst error \(worst) ulp at \(worstAt)")
        let edge = VectorMath.exp(VectorMath.V(-.infinity, -100, -87.5, 0, 1, 88, -0.0, 1e-8))
        #expect(edge[0] == 0 && edge[1] == 0 && edge[3] == 1 && abs(edge[4] - 2.7182817) < 1e-6 && edge[6] == 1)
    }

    @Test func shiftedExpAndMaximumHandleTails() {
        var row: [Float] = (0..<13).map { Float($0) * 0.5 - 3 }
        let maximum = row.withUnsafeBufferPointer { VectorMath.maximum($0.baseAddress!, 13) }
        #expect(maximum == 3)
        let sum = row.withUnsafeMutableBufferPointer { VectorMath.expShifted($0.baseAddress!, 13, shift: 3) }
        let expected = (0..<13).map { Foundation.exp(Double($0) * 0.5 - 6) }
        #expect(relativeError(row.map(Double.init), expected) < 1e-6)
        #expect(abs(Double(sum) - expected.reduce(0, +)) < 1e-5)
    }
}
