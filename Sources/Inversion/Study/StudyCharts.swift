import Foundation
import Graphics
import Numerics

/// The study's figures.
extension StudySummary {
    /// Mean metric against steps per strategy (the paper's Fig. 2a, averaged), banded by the standard
    /// error of the mean: the spread between subjects (the std, in curves.csv) would hide every difference.
    /// The loss is drawn as its change from step 0, banded by the change's spread: subjects' loss levels
    /// differ far more than any strategy moves them.
    public func curvesChart() -> Image {
        let sem = 1 / Double(max(self.units, 1)).squareRoot()
        let change = metric == .loss
        let name = change ? "change in \(metric.name) from step 0" : metric.name
        var chart = Chart(
            title: "\(name) by strategy (mean ± s.e.m. over \(self.units) subject-seed units)", xLabel: "step",
            yLabel: name)
        chart.series = self.curves.map { c in
            let mean = change ? c.mean.map { $0 - (c.mean.first ?? 0) } : c.mean
            let spread = change ? c.changeStd : c.std
            return Chart.Series(
                name: c.strategy, points: zip(c.steps, mean).map { (x: Double($0), y: $1) },
                band: self.units > 1
                    ? c.steps.indices.map {
                        (x: Double(c.steps[$0]), low: mean[$0] - sem * spread[$0], high: mean[$0] + sem * spread[$0])
                    } : [])
        }
        return chart.render()
    }

    /// g(t) averaged over units before and after optimisation, the strategies' intervals shaded (Fig. 1
    /// left). With both definitions recorded, each curve is divided by its maximum so their shapes compare.
    public func profileChart(units: [StudyUnit], trainSteps: Int) -> Image {
        let after = "after (\(self.rows.first?.strategy ?? ""))"
        let g = profileBefore.g ?? .mse
        var profiles = [("before, g=\(g.rawValue)", profileBefore), ("\(after), g=\(g.rawValue)", profileAfter)]
        if let mseProfileBefore, let mseProfileAfter {
            profiles += [("before, g=mse", mseProfileBefore), ("\(after), g=mse", mseProfileAfter)]
        }
        let normalised = profiles.count > 2
        var chart = Chart(
            title: "g(t) averaged over \(self.units) unit(s), before and after optimisation",
            xLabel: "timestep t", yLabel: normalised ? "g(t) / max g" : "g(t) = E ||grad_c loss|| (g=\(g.rawValue))")
        chart.series = profiles.map { name, p in
            let scale = normalised ? 1 / max(p.mean.filter(\.isFinite).max() ?? 1, .leastNormalMagnitude) : 1
            return Chart.Series(
                name: name, points: zip(p.t, p.mean).map { (x: Double($0), y: $1 * scale) },
                band: p.t.indices.map {
                    (
                        x: Double(p.t[$0]), low: (p.mean[$0] - p.std[$0]) * scale,
                        high: (p.mean[$0] + p.std[$0]) * scale
                    )
                })
        }
        chart.regions = (units.first?.runs ?? []).compactMap { run in
            guard run.allowed.count == 2, run.allowed[1] - run.allowed[0] < trainSteps else { return nil }
            let width = max(run.allowed[1] - run.allowed[0], trainSteps / 200)
            return Chart.Region(from: Double(run.allowed[0]), to: Double(run.allowed[0] + width), label: run.strategy)
        }
        chart.xRange = 0...Double(trainSteps)
        return chart.render()
    }
}

extension Study {
    /// What `writeSummary` made: a summary and its curves chart per metric (similarity first when measured).
    public struct Report {
        public var summaries: [StudySummary]
        public var curves: [Image]
        public var profile: Image
    }

    /// Aggregates `units` for every metric they recorded.
    public static func report(_ units: [StudyUnit], trainSteps: Int) -> Report {
        let summaries = StudySummary.metrics(of: units).map { StudySummary(units, metric: $0) }
        return Report(
            summaries: summaries, curves: summaries.map { $0.curvesChart() },
            profile: summaries[0].profileChart(units: units, trainSteps: trainSteps))
    }

    /// Writes the summary of every unit saved in `folder` into it (so a study of some of its
    /// subjects does not narrow the folder's files to those) and returns the report of `units`:
    /// summary.csv, curves.csv and curves.png for the first metric, the same with a `-loss` suffix
    /// for the evaluation loss when similarity came first, and profile.png.
    @discardableResult
    public static func writeSummary(_ units: [StudyUnit], to folder: URL, trainSteps: Int) throws -> Report {
        let shown = report(units, trainSteps: trainSteps)
        let saved = try savedUnits(in: folder)
        func keys(_ units: [StudyUnit]) -> Set<String> { Set(units.map { "\($0.subject) \($0.seed)" }) }
        let written = saved.isEmpty || keys(saved) == keys(units) ? shown : report(saved, trainSteps: trainSteps)
        do {
            for (index, summary) in written.summaries.enumerated() {
                let suffix = index == 0 ? "" : "-\(summary.metric.rawValue)"
                try FileAccess.writeAtomically(
                    summary.tableCSV(), to: folder.appendingPathComponent("summary\(suffix).csv"))
                try FileAccess.writeAtomically(
                    summary.curvesCSV(), to: folder.appendingPathComponent("curves\(suffix).csv"))
                try written.curves[index].writePNG(to: folder.appendingPathComponent("curves\(suffix).png"))
            }
            try written.profile.writePNG(to: folder.appendingPathComponent("profile.png"))
        } catch { throw InversionError("cannot write the summary into \(folder.path): \(error)") }
        return shown
    }
}
