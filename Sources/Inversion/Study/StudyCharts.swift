import Foundation
import Numerics

/// The study's figures.
extension StudySummary {
    /// Mean metric against steps per strategy with a ±1 std band (the paper's Fig. 2a, averaged).
    public func curvesChart() -> Image {
        var chart = Chart(title: "\(self.metric) by strategy (mean ± std over \(self.units) subject-seed units)",
                          xLabel: "step", yLabel: self.metric)
        chart.series = self.curves.map { c in
            Chart.Series(name: c.strategy, points: zip(c.steps, c.mean).map { (x: Double($0), y: $1) },
                         band: self.units > 1 ? c.steps.indices.map { (x: Double(c.steps[$0]), low: c.mean[$0] - c.std[$0], high: c.mean[$0] + c.std[$0]) } : [])
        }
        return chart.render()
    }

    /// g(t) averaged over units before and after optimisation, the strategies' intervals shaded (Fig. 1 left).
    public func profileChart(units: [StudyUnit], trainSteps: Int) -> Image {
        var chart = Chart(title: "g(t) averaged over \(self.units) unit(s), before and after optimisation",
                          xLabel: "timestep t", yLabel: "g(t) = E ||grad_c loss||")
        chart.series = [("before", self.profileBefore), ("after (\(self.rows.first?.strategy ?? ""))", self.profileAfter)].map { name, p in
            Chart.Series(name: name, points: zip(p.t, p.mean).map { (x: Double($0), y: $1) },
                         band: p.t.indices.map { (x: Double(p.t[$0]), low: p.mean[$0] - p.std[$0], high: p.mean[$0] + p.std[$0]) })
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
    /// Aggregates `units` and writes summary.csv, curves.csv, curves.png and profile.png into `folder`.
    @discardableResult
    public static func writeSummary(_ units: [StudyUnit], to folder: URL, trainSteps: Int) throws -> (StudySummary, curves: Image, profile: Image) {
        let summary = StudySummary(units)
        let curves = summary.curvesChart(), profile = summary.profileChart(units: units, trainSteps: trainSteps)
        do {
            try summary.tableCSV().write(to: folder.appendingPathComponent("summary.csv"), atomically: true, encoding: .utf8)
            try summary.curvesCSV().write(to: folder.appendingPathComponent("curves.csv"), atomically: true, encoding: .utf8)
            try curves.writePNG(to: folder.appendingPathComponent("curves.png"))
            try profile.writePNG(to: folder.appendingPathComponent("profile.png"))
        } catch { throw InversionError("cannot write the summary into \(folder.path): \(error)") }
        return (summary, curves, profile)
    }
}
