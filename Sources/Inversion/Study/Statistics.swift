import Foundation
import Numerics

/// Paired comparisons of a study's strategies with its reference, where the units of one subject
/// (its seeds) are not independent: subjects are what is resampled.
public enum PairedStatistics {
    public struct Interval: Sendable, Equatable {
        /// The mean over subjects of each subject's mean difference.
        public var mean: Double
        /// A 95% percentile interval of that mean, from resampling subjects with replacement.
        public var low: Double
        public var high: Double
        /// Two-sided p-value of a sign-flip test on the subjects' mean differences.
        public var p: Double
        public var subjects: Int
    }

    /// The mean difference by subject, its 95% cluster-bootstrap interval, and a sign-flip p-value;
    /// nil without subjects. `differences[s]` are subject s's differences (one per seed).
    public static func compare(_ differences: [[Double]], resamples: Int = 10_000, seed: UInt64 = 0x5EED)
        -> Interval?
    {
        let means = differences.filter { !$0.isEmpty }.map { $0.reduce(0, +) / Double($0.count) }
            .filter(\.isFinite)
        guard !means.isEmpty, resamples >= 1 else { return nil }
        let n = means.count
        let mean = means.reduce(0, +) / Double(n)
        var random = RandomGenerator(seed: seed)
        var resampled: [Double] = []
        resampled.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var total = 0.0
            for _ in 0..<n { total += means[Int(random.next() % UInt64(n))] }
            resampled.append(total / Double(n))
        }
        resampled.sort()
        func quantile(_ q: Double) -> Double {
            resampled[min(resamples - 1, max(0, Int((q * Double(resamples - 1)).rounded())))]
        }
        return Interval(
            mean: mean, low: quantile(0.025), high: quantile(0.975),
            p: signFlipP(means, resamples: resamples, using: &random), subjects: n)
    }

    /// P(|mean of ±x_i| ≥ |mean of x_i|) under random signs: exact for up to 16 subjects, else from
    /// `resamples` draws (counting the observed one, so never 0).
    static func signFlipP(_ x: [Double], resamples: Int, using random: inout RandomGenerator) -> Double {
        let observed = abs(x.reduce(0, +)) * (1 - 1e-12)
        if x.count <= 16 {
            var extreme = 0
            for signs in 0..<(1 << x.count) {
                var total = 0.0
                for (i, v) in x.enumerated() { total += signs & (1 << i) == 0 ? v : -v }
                if abs(total) >= observed { extreme += 1 }
            }
            return Double(extreme) / Double(1 << x.count)
        }
        var extreme = 1
        for _ in 0..<resamples {
            var total = 0.0
            for v in x { total += random.next() & 1 == 0 ? v : -v }
            if abs(total) >= observed { extreme += 1 }
        }
        return Double(extreme) / Double(resamples + 1)
    }

    /// Holm–Bonferroni adjusted p-values, in the given order (each at most 1, never below an earlier
    /// one in the ranking).
    public static func holm(_ p: [Double]) -> [Double] {
        let order = p.indices.sorted { p[$0] < p[$1] }
        var adjusted = [Double](repeating: 1, count: p.count)
        var running = 0.0
        for (rank, index) in order.enumerated() {
            running = max(running, min(1, Double(p.count - rank) * p[index]))
            adjusted[index] = running
        }
        return adjusted
    }
}

/// Times to an event observed up to a horizon (censored where it did not happen by then).
public enum Survival {
    public struct Observation: Sendable {
        public var time: Double
        public var reached: Bool
        public init(time: Double, reached: Bool) {
            self.time = time
            self.reached = reached
        }
    }

    /// Kaplan–Meier's survival curve: at each event time, the share not yet reached.
    public static func kaplanMeier(_ observations: [Observation]) -> [(time: Double, survival: Double)] {
        var atRisk = observations.count
        var survival = 1.0
        var curve: [(Double, Double)] = []
        let times = Set(observations.map(\.time)).sorted()
        for t in times {
            let here = observations.filter { $0.time == t }
            let events = here.filter(\.reached).count
            if events > 0, atRisk > 0 {
                survival *= 1 - Double(events) / Double(atRisk)
                curve.append((t, survival))
            }
            atRisk -= here.count
        }
        return curve
    }

    /// The Kaplan–Meier median: the first time at which at most half have not reached; nil if more
    /// than half had not reached by the end of observation.
    public static func median(_ observations: [Observation]) -> Double? {
        kaplanMeier(observations).first { $0.survival <= 0.5 }?.time
    }

    /// The restricted mean time to the event up to `horizon`: the area under the Kaplan–Meier curve.
    public static func restrictedMean(_ observations: [Observation], horizon: Double) -> Double {
        var area = 0.0
        var (last, survival) = (0.0, 1.0)
        for (time, s) in kaplanMeier(observations) where time <= horizon {
            area += survival * (time - last)
            (last, survival) = (time, s)
        }
        return area + survival * max(0, horizon - last)
    }
}
