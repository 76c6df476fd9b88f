/// Vectorised exp for softmax-heavy kernels: libm's expf costs ~20 cycles a value, and a
/// 4096-token attention layer takes 134 million of them.
///
/// exp(x) = 2ⁿ · e^r with n = round(x / ln 2) and |r| ≤ ln2 / 2; e^r by a degree-6 polynomial
/// (Cephes' expf coefficients), 2ⁿ by building the float's exponent bits. Relative error ≤ 2 ulp
/// on [-87, 88]; below that the result is 0, as expf's underflows to 0 or a subnormal.
enum VectorMath {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func exp(_ x: V) -> V {
        let lowest: V = V(repeating: -87.33654), highest: V = V(repeating: 88.72283)
        let clamped = x.clamped(lowerBound: lowest, upperBound: highest)
        // Round to nearest by adding 1.5·2²³: the integer lands in the low mantissa bits.
        let magic: V = V(repeating: 12_582_912)
        let shifted = clamped * 1.442_695_04 + magic
        let n = shifted - magic
        var r = clamped - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        var p: V = V(repeating: 1.987_569_1e-4)
        p = p * r + 1.398_199_9e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_6e-2
        p = p * r + 1.666_666_5e-1
        p = p * r + 5.000_000_1e-1
        p = p * r * r + r + 1
        // 2ⁿ as 2^⌊n/2⌋ · 2^(n−⌊n/2⌋): both halves stay normal floats for n in −126...128.
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let half = integer &>> 1
        let scaleA = unsafeBitCast((half &+ 127) &<< 23, to: V.self)
        let scaleB = unsafeBitCast((integer &- half &+ 127) &<< 23, to: V.self)
        // Inputs below the clamp underflow to zero (−∞ masks included).
        return (p * scaleA * scaleB).replacing(with: 0, where: x .< lowest)
    }

    /// row[j] = exp(row[j] − shift) for j < n; returns the sum of the results.
    @inline(__always)
    static func expShifted(_ row: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        var sums = V(repeating: 0)
        var j = 0
        let s = V(repeating: shift)
        while j + 8 <= n {
            let e = exp(UnsafeRawPointer(row + j).loadUnaligned(as: V.self) - s)
            UnsafeMutableRawPointer(row + j).storeBytes(of: e, as: V.self)
            sums += e
            j += 8
        }
        var total = sums.sum()
        if j < n {
            var tail = V(repeating: -.infinity)
            for i in j..<n { tail[i - j] = row[i] }
            let e = exp(tail - s)
            for i in j..<n { row[i] = e[i - j]; total += e[i - j] }
        }
        return total
    }

    @inline(__always)
    static func maximum(_ row: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = V(repeating: -.infinity)
        var j = 0
        while j + 8 <= n {
            m = pointwiseMax(m, UnsafeRawPointer(row + j).loadUnaligned(as: V.self))
            j += 8
        }
        var result = m.max()
        while j < n { result = Swift.max(result, row[j]); j += 1 }
        return result
    }
}
