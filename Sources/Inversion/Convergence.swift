/// How fast a curve gets somewhere: the one definition behind `compare`'s table and the study's.
public enum Convergence {
    /// The value at `fraction` of the way from `start` to `end` (0.9: 90% of a gain or of a drop).
    public static func level(_ fraction: Double, from start: Double, to end: Double) -> Double {
        start + fraction * (end - start)
    }

    /// Whether a curve went from `start` to `end` in the good direction (there is then a gain to reach).
    public static func improved(from start: Double, to end: Double, higherIsBetter: Bool) -> Bool {
        higherIsBetter ? end > start : end < start
    }

    /// The first measured step at which a curve makes `fraction` of a reference's improvement from
    /// `start` to `end`; nil if it never does, or if the reference did not improve (nothing to reach).
    public static func firstStep(
        making fraction: Double, from start: Double, to end: Double, steps: [Int], values: [Double],
        higherIsBetter: Bool
    ) -> Int? {
        guard improved(from: start, to: end, higherIsBetter: higherIsBetter) else { return nil }
        return firstStep(
            reaching: level(fraction, from: start, to: end), steps: steps, values: values,
            higherIsBetter: higherIsBetter)
    }

    /// The first measured step whose value is at least as good as `level`; nil if none is.
    public static func firstStep(reaching level: Double, steps: [Int], values: [Double], higherIsBetter: Bool) -> Int? {
        zip(steps, values).first { higherIsBetter ? $0.1 >= level : $0.1 <= level }?.0
    }
}
