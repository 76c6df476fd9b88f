/// How fast a curve gets somewhere: the one definition behind `compare`'s table and the study's.
public enum Convergence {
    /// The value at `fraction` of the way from `start` to `end` (0.9: 90% of a gain or of a drop).
    public static func level(_ fraction: Double, from start: Double, to end: Double) -> Double {
        start + fraction * (end - start)
    }

    /// The first measured step whose value is at least as good as `level`; nil if none is.
    public static func firstStep(reaching level: Double, steps: [Int], values: [Double], higherIsBetter: Bool) -> Int? {
        zip(steps, values).first { higherIsBetter ? $0.1 >= level : $0.1 <= level }?.0
    }
}
