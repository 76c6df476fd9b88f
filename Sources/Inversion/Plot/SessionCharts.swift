import Foundation
import Graphics

/// The charts of a session's measurements, as `plot` shows them; nil when there is nothing to plot.
extension InversionSession {
    /// The loss per step, its moving average, and the evaluation loss when it was measured.
    public func lossChart() -> Chart? {
        guard !history.isEmpty else { return nil }
        var chart = Chart(title: "training loss", xLabel: "step", yLabel: "loss")
        let losses = history.map { (x: Double($0.step), y: Double($0.loss)) }
        let window = max(1, losses.count / 20)
        let smooth = losses.indices.map { i -> (x: Double, y: Double) in
            let slice = losses[max(0, i - window + 1)...i]
            return (losses[i].x, slice.map(\.y).reduce(0, +) / Double(slice.count))
        }
        chart.series = [
            Chart.Series(name: "loss", points: losses),
            Chart.Series(name: "moving average (\(window))", points: smooth)
        ]
        if evaluationHistory.count > 1 {
            chart.series.append(
                Chart.Series(
                    name: "evaluation loss (fixed items)",
                    points: evaluationHistory.map { (x: Double($0.step), y: Double($0.loss)) }))
        }
        return chart
    }

    /// Each profile's mean g(t) under `definition` with a ±1 std band, or (nil) the last profile of
    /// every definition, each divided by its maximum so their shapes compare; the current strategy's
    /// timesteps shaded (the paper's Fig. 1, left).
    public func profileChart(_ definition: GradientDefinition?) -> Chart? {
        var shown =
            definition.map { g in profiles.filter { $0.definition == g } }
            ?? GradientDefinition.allCases.compactMap { g in profiles.last { $0.definition == g } }
        // The model's profile from generic concepts, beside the concept's own.
        if let modelProfile {
            let label = "model (\(modelProfile.concepts.count) generic concepts)"
            for g in definition.map({ [$0] }) ?? GradientDefinition.allCases where !modelProfile.points(g).isEmpty {
                shown.append(Profile(label: label, definition: g, points: modelProfile.points(g)))
            }
        }
        guard !shown.isEmpty else { return nil }
        let yLabel: String
        switch definition {
        case .norm?: yLabel = "g(t) = E ||grad_c ||e|| || (Eq. 4)"
        case .mse?: yLabel = "g(t) = E ||grad_c mse||"
        case .jacobian?: yLabel = "g(t) = E ||d eps / dc||_F"
        case nil: yLabel = "g(t) / max g"
        }
        var chart = Chart(
            title: "conditioning-gradient norm g(t)" + (definition.map { ", g=\($0.rawValue)" } ?? ", each definition"),
            xLabel: "timestep t", yLabel: yLabel)
        chart.series = shown.map { profile in
            let scale = definition == nil ? 1 / max(profile.points.map(\.mean).max() ?? 1, .leastNormalMagnitude) : 1
            return Chart.Series(
                name: definition == nil
                    ? "g=\(profile.definition.rawValue), \(profile.label)" : "profile " + profile.label,
                points: profile.points.map { (Double($0.t), $0.mean * scale) },
                band: profile.points.map { (Double($0.t), ($0.mean - $0.std) * scale, ($0.mean + $0.std) * scale) })
        }
        let allowed = sampler.allowed
        let trainSteps = pipeline.schedule.trainSteps
        if allowed.count < trainSteps {
            chart.regions = [
                Chart.Region(
                    from: Double(allowed.lowerBound), to: Double(allowed.upperBound), label: "\(sampler.strategy)")
            ]
        }
        chart.xRange = 0...Double(trainSteps)
        return chart
    }

    /// CLIP image similarity per measurement.
    public func similarityChart() -> Chart? {
        guard !similarityHistory.isEmpty else { return nil }
        var chart = Chart(
            title: "CLIP image similarity to the concept images", xLabel: "step", yLabel: "mean cosine similarity")
        chart.series = [
            Chart.Series(
                name: "\(concept?.placeholder ?? "") (\(similaritySettings.images) generations)",
                points: similarityHistory.map { (x: Double($0.step), y: $0.value) })
        ]
        return chart
    }

    /// The histogram of the timesteps training drew, in 40 bins.
    public func timestepChart() -> Chart? {
        let drawn = history.flatMap(\.timesteps)
        guard !drawn.isEmpty else { return nil }
        let trainSteps = pipeline.schedule.trainSteps
        let width = max(1, trainSteps / 40)
        var counts = [Int](repeating: 0, count: (trainSteps + width - 1) / width)
        for t in drawn where t >= 0 && t < trainSteps { counts[t / width] += 1 }
        var chart = Chart(
            title: "sampled timesteps (\(drawn.count) samples, \(sampler.strategy))", xLabel: "timestep t",
            yLabel: "count")
        chart.bars = counts.indices.map { i in
            (Double(i * width), Double(min((i + 1) * width, trainSteps)), Double(counts[i]))
        }
        chart.xRange = 0...Double(trainSteps)
        return chart
    }
}
