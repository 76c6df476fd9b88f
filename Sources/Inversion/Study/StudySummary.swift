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
        /// (with its standard error over units) and in how many units this strategy ended better.
        public var versusReference: (difference: Double, standardError: Double, better: Int, of: Int)
        /// The same difference by subject (seeds averaged within a subject first), with a 95% interval
        /// that resamples subjects and a sign-flip p-value; nil for the reference itself.
        public var paired: PairedStatistics.Interval?
        /// `paired.p` adjusted by Holm–Bonferroni across the strategies compared with the reference.
        public var adjustedP: Double?
        /// Steps to reach 90% of the reference's final value (the paper's measure), in the units where
        /// the reference improved (elsewhere there is no level to reach); a unit that never reaches it
        /// is censored at the last step.
        public var toFinal: Reach
        /// The same for 90% of the reference's gain over the start.
        public var toGain: Reach
        public var secondsPerStep: Double
        /// The first step at which this strategy's mean curve makes 90% of the reference mean curve's
        /// improvement (Fig. 2a read off: steps, and steps x s/step); nil if it never does or the
        /// reference's mean did not improve.
        public var meanCurveToGain: Int?
        /// What the strategy paid before its first step: the concept's profile for those that start from
        /// it (high-grad from=concept, tpeak, adaptive), as mean passes and seconds per unit; 0 otherwise.
        public var profilePasses = 0.0
        public var profileSeconds = 0.0
        /// Wall-clock to the mean curve's 90% of the reference's gain, profiling included.
        public var meanCurveSeconds: Double? { meanCurveToGain.map { Double($0) * secondsPerStep + profileSeconds } }
    }

    /// Time to a level over units with censoring: how many reached it, of how many, and the
    /// Kaplan–Meier median steps (nil when fewer than half reached it), never a mean over reachers.
    public struct Reach {
        public var median: Double?
        /// The area under the Kaplan–Meier curve up to the last step: the mean steps, with the units that
        /// never reached counted as the horizon.
        public var restrictedMean: Double?
        public var reached: Int
        public var of: Int

        init(_ observations: [Survival.Observation], horizon: Double) {
            median = Survival.median(observations)
            restrictedMean = observations.isEmpty ? nil : Survival.restrictedMean(observations, horizon: horizon)
            reached = observations.filter(\.reached).count
            of = observations.count
        }
    }

    public let metric: Metric
    public var higherIsBetter: Bool { metric == .similarity }
    public let units: Int
    public let curves: [Curve]
    public private(set) var rows: [Row]
    public let profileBefore: StudyUnit.Profile
    public let profileAfter: StudyUnit.Profile
    /// The MSE-gradient profiles, when every unit recorded them beside Eq. 4's.
    public let mseProfileBefore: StudyUnit.Profile?
    public let mseProfileAfter: StudyUnit.Profile?

    /// Whether the strategy named `name` (a `compare` short name) starts from the concept's own profile.
    static func usesConceptProfile(_ name: String) -> Bool {
        switch try? TimestepStrategy(shortName: name, trainSteps: 1000) {
        case .adaptive?, .highGrad(_, _, .concept)?: true
        default: false
        }
    }

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
            var toFinal: [Survival.Observation] = []
            var toGain: [Survival.Observation] = []
            var seconds: [Double] = []
            var differences: [Double] = []
            var bySubject: [String: [Double]] = [:]
            var intervals: [String] = []
            var horizon = 0.0
            for unit in units {
                guard let run = unit.runs.first(where: { $0.strategy == name }), let reference = unit.runs.first,
                    let start = values(run).first, let end = values(run).last,
                    let referenceEnd = values(reference).last, let referenceStart = values(reference).first
                else { continue }
                finals.append(end)
                gains.append(end - start)
                differences.append(end - referenceEnd)
                bySubject[unit.subject, default: []].append(end - referenceEnd)
                seconds.append(run.secondsPerStep)
                let last = Double(run.steps.last ?? 0)
                horizon = max(horizon, last)
                intervals.append(run.allowed.count == 2 ? "[\(run.allowed[0]), \(run.allowed[1]))" : "")
                // 90% of the reference's final value (the paper's measure; for a loss, within 1/0.9 of it),
                // and 90% of its gain over the start; only where the reference improved on its start.
                // (A similarity must also end above 0 for "90% of it" to be below it.)
                guard Convergence.improved(from: referenceStart, to: referenceEnd, higherIsBetter: usesSimilarity),
                    !usesSimilarity || referenceEnd > 0
                else { continue }
                let finalLevel = usesSimilarity ? 0.9 * referenceEnd : referenceEnd / 0.9
                let final = Convergence.firstStep(
                    reaching: finalLevel, steps: run.steps, values: values(run), higherIsBetter: usesSimilarity)
                toFinal.append(Survival.Observation(time: final.map(Double.init) ?? last, reached: final != nil))
                let gain = Convergence.firstStep(
                    making: 0.9, from: referenceStart, to: referenceEnd, steps: run.steps, values: values(run),
                    higherIsBetter: usesSimilarity)
                toGain.append(Survival.Observation(time: gain.map(Double.init) ?? last, reached: gain != nil))
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
                versusReference: (
                    paired.mean, paired.std / Double(max(differences.count, 1)).squareRoot(), better, differences.count
                ),
                paired: name == names.first
                    ? nil : PairedStatistics.compare(bySubject.keys.sorted().map { bySubject[$0]! }),
                adjustedP: nil,
                toFinal: Reach(toFinal, horizon: horizon), toGain: Reach(toGain, horizon: horizon),
                secondsPerStep: average(seconds) ?? .nan, meanCurveToGain: nil,
                profilePasses: Self.usesConceptProfile(name)
                    ? average(units.compactMap { $0.profileCost.map { Double($0.passes) } }) ?? 0 : 0,
                profileSeconds: Self.usesConceptProfile(name)
                    ? average(units.compactMap { $0.profileCost?.seconds }) ?? 0 : 0)
        }
        // Holm–Bonferroni over the comparisons with the reference, for this measure.
        let pValues = rows.compactMap { $0.paired?.p }
        var adjusted = PairedStatistics.holm(pValues).makeIterator()
        for i in rows.indices where rows[i].paired != nil { rows[i].adjustedP = adjusted.next() }
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
        let mseBefore = units.compactMap(\.mseProfileBefore)
        let mseAfter = units.compactMap(\.mseProfileAfter)
        let complete = !units.isEmpty && mseBefore.count == units.count && mseAfter.count == units.count
        mseProfileBefore = complete ? averaged(mseBefore) : nil
        mseProfileAfter = complete ? averaged(mseAfter) : nil
    }

    /// The results table as text.
    public func table() -> String {
        func steps(_ x: Reach) -> String {
            guard x.of > 0 else { return "-" }
            return "\(x.reached)/\(x.of), " + (x.median.map { String(format: "median %.0f", $0) } ?? "no median")
        }
        let reference = rows.first?.strategy ?? "the first strategy"
        let improved = rows.first?.toGain.of ?? 0
        let improvement = higherIsBetter ? "rose to a positive value" : "fell"
        // Losses move in the fourth decimal: one more digit for them.
        let d = higherIsBetter ? 4 : 5
        var cells = [
            [
                "strategy", "timesteps", "final (±std)", "gain", "vs ref. [95%], p, better in", "to 90% of ref. final",
                "to 90% of ref. gain", "mean curve to 90% of gain", "s/step"
            ]
        ]
        for r in rows {
            let versus =
                r.paired.map {
                    String(
                        format: "%+.*f [%+.*f, %+.*f], p %.3f, %d/%d", d, $0.mean, d, $0.low, d, $0.high,
                        r.adjustedP ?? $0.p, r.versusReference.better, r.versusReference.of)
                } ?? "-"
            let curve =
                r.meanCurveToGain.map {
                    String(format: "%d (%.1f s)", $0, r.meanCurveSeconds ?? .nan)
                        + (r.profilePasses > 0 ? String(format: " +%.0f profile passes", r.profilePasses) : "")
                } ?? "never"
            cells.append([
                r.strategy, r.interval, String(format: "%.*f ± %.*f", d, r.final.mean, d, r.final.std),
                String(format: "%+.*f", d, r.gain), versus, steps(r.toFinal), steps(r.toGain), curve,
                String(format: "%.3f", r.secondsPerStep)
            ])
        }
        // Each column as wide as its widest cell, two spaces apart.
        let widths = cells[0].indices.map { column in cells.map { $0[column].count }.max() ?? 0 }
        let table = cells.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
            }.joined()
        }
        let heading =
            "\(metric.name), \(units) subject-seed unit(s); reference: \(reference), which \(improvement) in "
            + "\(improved); vs ref.: mean difference by subject [95% interval resampling subjects], "
            + "Holm-adjusted p; steps to reach the reference's levels: how many of those \(improved) units "
            + "reached them, and the Kaplan-Meier median (units that never reach count as censored)"
        return ([heading] + table).joined(separator: "\n")
    }

    /// One row per strategy (the table) as CSV.
    public func tableCSV() -> String {
        let columns = [
            "strategy", "timesteps", "final_mean", "final_std", "gain", "minus_reference", "minus_reference_se",
            "better_than_reference", "by_subject_mean", "by_subject_low95", "by_subject_high95", "p", "p_holm",
            "subjects", "reached_final", "median_steps_to_90pct_final", "restricted_mean_steps_to_90pct_final",
            "reached_gain", "median_steps_to_90pct_gain", "restricted_mean_steps_to_90pct_gain",
            "reference_improved", "mean_curve_steps_to_90pct_gain", "seconds_per_step"
        ]
        func text(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }
        var lines = [columns.joined(separator: ",")]
        for r in rows {
            lines.append(
                [
                    r.strategy, "\"\(r.interval)\"", "\(r.final.mean)", "\(r.final.std)", "\(r.gain)",
                    "\(r.versusReference.difference)", "\(r.versusReference.standardError)",
                    "\(r.versusReference.better)", text(r.paired?.mean), text(r.paired?.low), text(r.paired?.high),
                    text(r.paired?.p), text(r.adjustedP), r.paired.map { "\($0.subjects)" } ?? "",
                    "\(r.toFinal.reached)", text(r.toFinal.median), text(r.toFinal.restrictedMean),
                    "\(r.toGain.reached)", text(r.toGain.median), text(r.toGain.restrictedMean), "\(r.toGain.of)",
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
