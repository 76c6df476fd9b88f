import Foundation

/// A study aggregated over its (subject, seed) units for one metric: mean and spread per strategy per
/// step, the steps each strategy needs to reach the reference's (the first strategy's, uniform in the
/// paper) levels, and the g(t) profiles averaged over units.
public struct StudySummary {
    /// What is averaged: CLIP image similarity (higher is better) or the deterministic evaluation loss
    /// (lower is better). A study records both when the pipeline can measure similarity.
    public enum Metric: String, Sendable {
        case similarity, loss
        public var name: String { self == .similarity ? "CLIP image similarity" : "evaluation loss" }
    }

    public struct Curve {
        public var strategy: String
        public var steps: [Int]
        public var mean: [Double]
        public var std: [Double]
        /// The spread over units of the change from each unit's own start, which, unlike `std`, does not
        /// include how far apart the subjects' levels are.
        public var changeStd: [Double]
    }

    public struct Row {
        public var strategy: String
        public var interval: String
        public var final: (mean: Double, std: Double)
        /// Final minus the start (the initializer word's value), averaged.
        public var gain: Double
        /// Paired with the reference on the same subject and seed: the mean difference of final values
        /// (with its standard error) and in how many units this strategy ended better.
        public var versusReference: (difference: Double, standardError: Double, better: Int)
        /// Mean steps to reach 90% of the reference's final value (the paper's measure), over the units
        /// that reached it; how many did, of the units where the reference improved (elsewhere there is
        /// no level to reach).
        public var toFinal: Reach
        /// The same for 90% of the reference's gain over the start.
        public var toGain: Reach
        public var secondsPerStep: Double
        /// The first step at which this strategy's mean curve makes 90% of the reference mean curve's
        /// improvement (Fig. 2a read off: steps, and steps x s/step); nil if it never does or the
        /// reference's mean did not improve.
        public var meanCurveToGain: Int?
        public var meanCurveSeconds: Double? { meanCurveToGain.map { Double($0) * secondsPerStep } }
    }

    public struct Reach {
        public var steps: Double?
        public var reached: Int
        public var of: Int
    }

    public let metric: Metric
    public var higherIsBetter: Bool { metric == .similarity }
    public let units: Int
    public let curves: [Curve]
    public private(set) var rows: [Row]
    public let profileBefore: StudyUnit.Profile
    public let profileAfter: StudyUnit.Profile

    /// Similarity recorded in every unit, or nothing to average but the loss.
    public static func metrics(of units: [StudyUnit]) -> [Metric] {
        let measured = !units.isEmpty && units.allSatisfy { $0.runs.allSatisfy { !$0.similarity.isEmpty } }
        return measured ? [.similarity, .loss] : [.loss]
    }

    /// `metric` defaults to the first of `metrics(of: units)`.
    public init(_ units: [StudyUnit], metric: Metric? = nil) {
        self.units = units.count
        let metric = metric ?? Self.metrics(of: units)[0]
        self.metric = metric
        let usesSimilarity = metric == .similarity
        func values(_ run: StudyUnit.Run) -> [Double] { usesSimilarity ? run.similarity : run.loss }
        let names = units.first?.runs.map(\.strategy) ?? []
        func stats(_ xs: [Double]) -> (mean: Double, std: Double) {
            guard !xs.isEmpty else { return (.nan, .nan) }
            let m = xs.reduce(0, +) / Double(xs.count)
            return (m, (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(xs.count - 1, 1))).squareRoot())
        }
        curves = names.map { name in
            let runs = units.compactMap { $0.runs.first { $0.strategy == name } }
            let steps = runs.first?.steps ?? []
            let columns = steps.indices.map { i in stats(runs.compactMap { i < values($0).count ? values($0)[i] : nil })
            }
            let changes = steps.indices.map { i in
                stats(runs.compactMap { i < values($0).count ? values($0)[i] - values($0)[0] : nil })
            }
            return Curve(
                strategy: name, steps: steps, mean: columns.map(\.mean), std: columns.map(\.std),
                changeStd: changes.map(\.std))
        }
        rows = names.map { name in
            var finals: [Double] = []
            var gains: [Double] = []
            var toFinal: [Double] = []
            var toGain: [Double] = []
            var seconds: [Double] = []
            var differences: [Double] = []
            var improved = 0
            var intervals: [String] = []
            for unit in units {
                guard let run = unit.runs.first(where: { $0.strategy == name }), let reference = unit.runs.first,
                    let start = values(run).first, let end = values(run).last,
                    let referenceEnd = values(reference).last, let referenceStart = values(reference).first
                else { continue }
                finals.append(end)
                gains.append(end - start)
                differences.append(end - referenceEnd)
                seconds.append(run.secondsPerStep)
                intervals.append(run.allowed.count == 2 ? "[\(run.allowed[0]), \(run.allowed[1]))" : "")
                // 90% of the reference's final value (the paper's measure; for a loss, within 1/0.9 of it),
                // and 90% of its gain over the start; only where the reference improved on its start.
                // (A similarity must also end above 0 for "90% of it" to be below it.)
                guard Convergence.improved(from: referenceStart, to: referenceEnd, higherIsBetter: usesSimilarity),
                    !usesSimilarity || referenceEnd > 0
                else { continue }
                improved += 1
                let finalLevel = usesSimilarity ? 0.9 * referenceEnd : referenceEnd / 0.9
                if let step = Convergence.firstStep(
                    reaching: finalLevel, steps: run.steps, values: values(run), higherIsBetter: usesSimilarity)
                {
                    toFinal.append(Double(step))
                }
                if let step = Convergence.firstStep(
                    making: 0.9, from: referenceStart, to: referenceEnd, steps: run.steps, values: values(run),
                    higherIsBetter: usesSimilarity)
                {
                    toGain.append(Double(step))
                }
            }
            // The most frequent interval (ties: the earliest string, so the table is the same on every run).
            let counts = Dictionary(grouping: intervals, by: { $0 }).mapValues(\.count)
            let common = counts.max { ($0.value, $1.key) < ($1.value, $0.key) }
            let interval = counts.count > 1 ? "\(common!.key) \(common!.value)/\(intervals.count)" : common?.key ?? ""
            func average(_ xs: [Double]) -> Double? { xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count) }
            let paired = stats(differences)
            let better = differences.filter { usesSimilarity ? $0 > 0 : $0 < 0 }.count
            return Row(
                strategy: name, interval: interval, final: stats(finals), gain: average(gains) ?? .nan,
                versusReference: (paired.mean, paired.std / Double(max(differences.count, 1)).squareRoot(), better),
                toFinal: Reach(steps: average(toFinal), reached: toFinal.count, of: improved),
                toGain: Reach(steps: average(toGain), reached: toGain.count, of: improved),
                secondsPerStep: average(seconds) ?? .nan, meanCurveToGain: nil)
        }
        if let reference = curves.first, let start = reference.mean.first, let end = reference.mean.last {
            for (i, curve) in curves.enumerated() {
                rows[i].meanCurveToGain = Convergence.firstStep(
                    making: 0.9, from: start, to: end, steps: curve.steps, values: curve.mean,
                    higherIsBetter: usesSimilarity)
            }
        }
        func averaged(_ profiles: [StudyUnit.Profile]) -> StudyUnit.Profile {
            guard let t = profiles.first?.t else { return StudyUnit.Profile(t: [], mean: [], std: [], g: nil) }
            let columns = t.indices.map { i in stats(profiles.compactMap { i < $0.mean.count ? $0.mean[i] : nil }) }
            return StudyUnit.Profile(t: t, mean: columns.map(\.mean), std: columns.map(\.std), g: profiles.first?.g)
        }
        profileBefore = averaged(units.map(\.profileBefore))
        profileAfter = averaged(units.map(\.profileAfter))
    }

    /// The results table as text.
    public func table() -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func steps(_ x: Reach) -> String {
            guard let s = x.steps else { return x.of == 0 ? "-" : "never (0/\(x.of))" }
            return String(format: "%.0f (%d/%d)", s, x.reached, x.of)
        }
        let reference = rows.first?.strategy ?? "the first strategy"
        let improved = rows.first?.toGain.of ?? 0
        let improvement = higherIsBetter ? "rose to a positive value" : "fell"
        // Losses move in the fourth decimal: one more digit for them.
        let d = higherIsBetter ? 4 : 5
        let w = higherIsBetter ? 0 : 3
        var lines = [
            "\(metric.name), \(units) subject-seed unit(s); reference: \(reference), which \(improvement) in "
                + "\(improved);"
                + " steps to reach its levels are averaged over the units that reached them, of those \(improved)",
            pad("strategy", 10) + pad("timesteps", 18) + pad("final (±std)", 18 + w) + pad("gain", 9 + w)
                + pad("vs ref. (±s.e., better in)", 30 + w) + pad("steps to 90% of ref. final", 28)
                + pad("to 90% of ref. gain", 21)
                + pad("mean curve to 90% of ref. gain", 32) + "s/step"
        ]
        for r in rows {
            lines.append(
                pad(r.strategy, 10) + pad(r.interval, 18)
                    + pad(String(format: "%.*f ± %.*f", d, r.final.mean, d, r.final.std), 18 + w)
                    + pad(String(format: "%+.*f", d, r.gain), 9 + w)
                    + pad(
                        String(
                            format: "%+.*f ± %.*f, %d/%d", d, r.versusReference.difference, d,
                            r.versusReference.standardError,
                            r.versusReference.better, units), 30 + w)
                    + pad(steps(r.toFinal), 28) + pad(steps(r.toGain), 21)
                    + pad(
                        r.meanCurveToGain.map { String(format: "%d (%.1f s)", $0, r.meanCurveSeconds ?? .nan) }
                            ?? "never", 32)
                    + String(format: "%.3f", r.secondsPerStep))
        }
        return lines.joined(separator: "\n")
    }

    /// One row per strategy (the table) as CSV.
    public func tableCSV() -> String {
        let columns = [
            "strategy", "timesteps", "final_mean", "final_std", "gain", "minus_reference", "minus_reference_se",
            "better_than_reference", "steps_to_90pct_final", "reached_final", "steps_to_90pct_gain", "reached_gain",
            "reference_improved", "mean_curve_steps_to_90pct_gain", "seconds_per_step"
        ]
        var lines = [columns.joined(separator: ",")]
        for r in rows {
            lines.append(
                [
                    r.strategy, "\"\(r.interval)\"", "\(r.final.mean)", "\(r.final.std)", "\(r.gain)",
                    "\(r.versusReference.difference)", "\(r.versusReference.standardError)",
                    "\(r.versusReference.better)",
                    r.toFinal.steps.map { "\($0)" } ?? "", "\(r.toFinal.reached)",
                    r.toGain.steps.map { "\($0)" } ?? "", "\(r.toGain.reached)", "\(r.toGain.of)",
                    r.meanCurveToGain.map { "\($0)" } ?? "", "\(r.secondsPerStep)"
                ].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Mean and std per strategy per measured step as CSV.
    public func curvesCSV() -> String {
        var lines = ["strategy,step,mean,std"]
        for c in curves {
            for (i, s) in c.steps.enumerated() { lines.append("\(c.strategy),\(s),\(c.mean[i]),\(c.std[i])") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
