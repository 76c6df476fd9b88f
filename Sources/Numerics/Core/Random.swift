import Foundation

/// A seeded generator (SplitMix64 seeding xoshiro256**): the same seed gives the same draws on
/// every machine, for reproducible noise, initialisation and sampling.
public struct RandomGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// The generator's whole state, to save and restore a session exactly.
    public var state: [UInt64] {
        get { [s.0, s.1, s.2, s.3] }
        set { if newValue.count == 4 { s = (newValue[0], newValue[1], newValue[2], newValue[3]) } }
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 24 random bits, as a float32 holds.
    public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniformDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A standard normal draw (Box–Muller; both values of a pair are used by `normal(count:)`).
    public mutating func normalPair() -> (Float, Float) {
        let u1 = max(uniformDouble(), 0x1p-60)
        let u2 = uniformDouble()
        let r = (-2 * log(u1)).squareRoot()
        return (Float(r * cos(2 * .pi * u2)), Float(r * sin(2 * .pi * u2)))
    }

    public mutating func normal(count: Int, mean: Float = 0, std: Float = 1) -> [Float] {
        var values = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            let (a, b) = normalPair()
            values[i] = mean + std * a
            if i + 1 < count { values[i + 1] = mean + std * b }
            i += 2
        }
        return values
    }
}

extension Tensor {
    public static func randn(
        _ shape: [Int], std: Float = 1, using generator: inout RandomGenerator,
        requiresGrad: Bool = false
    ) -> Tensor {
        Tensor(generator.normal(count: shape.reduce(1, *), std: std), shape: shape, requiresGrad: requiresGrad)
    }

    public static func uniform(
        _ shape: [Int], in range: ClosedRange<Float> = 0...1,
        using generator: inout RandomGenerator, requiresGrad: Bool = false
    ) -> Tensor {
        let values = (0..<shape.reduce(1, *)).map { _ in
            range.lowerBound + (range.upperBound - range.lowerBound) * generator.uniform()
        }
        return Tensor(values, shape: shape, requiresGrad: requiresGrad)
    }
}
