import Foundation
import Graphics
import Numerics

/// A learned embedding kept under its own placeholder beside the session's concept, usable in
/// prompts (each `compare` run's result, e.g. `<cat-toy-adaptive>`).
public struct KeptEmbedding {
    public let name: String
    public let tokens: [String]
    public let tokenIDs: [Int]
    /// [N, D], not trained further.
    public let vectors: Tensor
    public var placeholder: String { tokens.joined(separator: " ") }
}

/// One strategy's run in a comparison.
public struct ComparisonRun {
    /// A short name: `uniform`, `350-450`, `t400`, `adaptive`, `highgrad`.
    public let name: String
    public let strategy: TimestepStrategy
    /// The timesteps the strategy could sample (high-grad's interval as picked from the profile).
    public let allowed: Range<Int>
    public var evaluation: [(step: Int, loss: Float)] = []
    /// Each evaluation's loss on each of its fixed items (their mean is `evaluation`'s loss).
    public var itemLosses: [[Float]] = []
    public var similarity: [(step: Int, value: Double)] = []
    /// Every step's record: its sampled timesteps and their conditioning-gradient norms.
    public var records: [StepRecord] = []
    /// Seconds spent in optimisation steps (measurements excluded).
    public var seconds = 0.0
    public var kept: KeptEmbedding?
    /// The images of the last similarity measurement.
    public var images: [Image] = []
}

/// Strategies run from the same start with the same seeds: the paper's Fig. 2a.
public struct Comparison {
    public var runs: [ComparisonRun]
    public let steps: Int
    public let every: Int
    public let seed: UInt64

    /// Similarity when it was measured (higher is better), otherwise the evaluation loss (lower is better).
    public var usesSimilarity: Bool { runs.first.map { !$0.similarity.isEmpty } ?? false }
    public var metricName: String { usesSimilarity ? "CLIP image similarity" : "evaluation loss" }

    public func curve(_ run: ComparisonRun) -> [(step: Int, value: Double)] {
        usesSimilarity ? run.similarity : run.evaluation.map { ($0.step, Double($0.loss)) }
    }

    /// The first measured step at which `run` has made `fraction` of the reference run's (the first
    /// one's) improvement from the common start to its end; nil if it never does, or if the
    /// reference did not improve (there is nothing to reach).
    public func stepsToReach(_ fraction: Double, run: ComparisonRun) -> Int? {
        guard let reference = runs.first, let start = curve(reference).first?.value,
            let end = curve(reference).last?.value
        else { return nil }
        let points = curve(run)
        return Convergence.firstStep(
            making: fraction, from: start, to: end, steps: points.map(\.step), values: points.map(\.value),
            higherIsBetter: usesSimilarity)
    }
}

extension TimestepStrategy {
    /// Reads the short forms used by `compare`: `uniform`, `A-B` (a range), `T` or `tT` (one
    /// timestep), `adaptive`, `highgrad`, `tpeak` (the one timestep with the highest profiled g(t));
    /// the last three take a definition of g after a dash (`adaptive-mse`), else the given default's;
    /// `highgrad-model` and `tpeak-model` pick from the model's profile (`highgrad-model-mse`).
    public init(
        shortName text: String, trainSteps: Int, adaptive: TimestepStrategy = .defaultAdaptive,
        highGrad: TimestepStrategy = .defaultHighGrad
    ) throws {
        var lower = text.lowercased()
        if lower == "high-grad" { lower = "highgrad" }
        var g: GradientDefinition?
        for definition in GradientDefinition.allCases where lower.hasSuffix("-" + definition.rawValue) {
            g = definition
            lower = String(lower.dropLast(definition.rawValue.count + 1))
        }
        var from = ProfileSource.concept
        if lower.hasSuffix("-model"), ["highgrad-model", "tpeak-model"].contains(lower) {
            from = .model
            lower = String(lower.dropLast("-model".count))
        }
        let bounds = lower.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        switch lower {
        case "uniform" where g == nil: self = .range(0, trainSteps)
        case "adaptive":
            guard case .adaptive(let bins, let floor, let ema, let given) = adaptive else {
                self = adaptive
                break
            }
            self = .adaptive(bins: bins, floor: floor, ema: ema, g: g ?? given)
        case "highgrad":
            guard case .highGrad(let width, let given, _) = highGrad else {
                self = highGrad
                break
            }
            self = .highGrad(width: width, g: g ?? given, from: from)
        case "tpeak": self = .highGrad(width: 1, g: g ?? highGrad.gradientDefinition ?? .default, from: from)
        default:
            if g == nil, bounds.count == 2, let a = bounds[0], let b = bounds[1] {
                self = .range(a, b)
            } else if g == nil, let t = Int(lower.hasPrefix("t") ? String(lower.dropFirst()) : lower) {
                self = .single(t)
            } else {
                throw StrategyError(
                    description:
                        "\"\(text)\" is not a strategy: use uniform, A-B (a range such as 350-450), T or tT (one "
                        + "timestep such as t400), adaptive, highgrad or tpeak (these three may end in -norm or -mse, "
                        + "the definition of g)"
                )
            }
        }
    }

    /// The short name `compare` gives a run (and its kept embedding).
    public func shortName(trainSteps: Int) -> String {
        switch self {
        case .range(0, trainSteps): return "uniform"
        case .range(let a, let b): return "\(a)-\(b)"
        case .single(let t): return "t\(t)"
        case .adaptive(_, _, _, let g): return "adaptive" + (g == .default ? "" : "-\(g.rawValue)")
        case .highGrad(let width, let g, let from):
            return (width == 1 ? "tpeak" : "highgrad") + (from == .model ? "-model" : "")
                + (g == .default ? "" : "-\(g.rawValue)")
        }
    }
}

extension InversionSession {
    /// Keeps `vectors` under the placeholder `<name>` (replacing an earlier one of that name).
    @discardableResult
    public func keep(name: String, vectors: Tensor) throws -> KeptEmbedding {
        let (tokens, ids) = try Concept.placeholderTokens(name: name, vectors: vectors.shape[0], pipeline: pipeline)
        let kept = KeptEmbedding(name: name, tokens: tokens, tokenIDs: ids, vectors: vectors.detached().copy())
        keptEmbeddings.removeAll { $0.name == name }
        keptEmbeddings.append(kept)
        return kept
    }

    /// Runs each strategy for `steps` steps from the current vectors with fresh AdamW moments and
    /// the same seed (so the same images, templates and noise; only the timesteps differ), measuring
    /// every `every` steps; keeps each run's embedding as `<concept-run>` and leaves the session's own
    /// state as it was, also when interrupted. `onProgress(run, step)` may throw to stop.
    public func compare(
        _ strategies: [TimestepStrategy], steps: Int, every: Int, seed: UInt64? = nil,
        profiles: [GradientDefinition: [ProfilePoint]] = [:], similarity: Bool,
        onProgress: (_ run: Int, _ step: Int, _ note: String) throws -> Void = { _, _, _ in }
    ) throws -> Comparison {
        let samplers = try comparisonSamplers(
            strategies, steps: steps, every: every, profiles: profiles, similarity: similarity)
        guard let concept else { throw InversionError.noConcept }
        let T = pipeline.schedule.trainSteps
        let names = strategies.map { $0.shortName(trainSteps: T) }
        let saved = try captureState()
        defer { try? restoreState(saved) }
        let seed = seed ?? settings.seed
        var start = saved
        start.settings.seed = seed
        start.adam = (0, Tensor(zeros: saved.vectors.shape), Tensor(zeros: saved.vectors.shape))
        start.stepCount = 0
        (start.history, start.evaluation, start.similarity) = ([], [], [])
        start.random = RandomGenerator(seed: seed).state + Self.timestepGenerator(seed: seed).state

        // The starting point is the same for every run: measured once.
        try restoreState(start)
        let startItems = try evaluationItemLosses()
        let startLoss = startItems.reduce(0, +) / Float(startItems.count)
        // Every measurement polls for a stop too: one similarity measurement is many denoising steps.
        let startSimilarity = similarity ? try imageSimilarity(onStep: { _ in try onProgress(0, 0, "") }).value : nil
        var comparison = Comparison(runs: [], steps: steps, every: every, seed: seed)
        for (index, sampler) in samplers.enumerated() {
            var state = start
            state.sampler = sampler
            try restoreState(state)
            var run = ComparisonRun(name: names[index], strategy: strategies[index], allowed: sampler.allowed)
            run.evaluation = [(0, startLoss)]
            run.itemLosses = [startItems]
            if let startSimilarity { run.similarity = [(0, startSimilarity)] }
            for _ in 0..<steps {
                let record = try step(shouldStop: { try onProgress(index, stepCount, "") })
                run.seconds += record.seconds
                run.records.append(record)
                var note = String(
                    format: "loss %.4f, t = %@", record.loss, record.timesteps.map(String.init).joined(separator: ","))
                if stepCount % every == 0 || stepCount == steps {
                    let items = try evaluationItemLosses()
                    let loss = items.reduce(0, +) / Float(items.count)
                    run.evaluation.append((stepCount, loss))
                    run.itemLosses.append(items)
                    note += String(format: ", eval %.4f", loss)
                    if similarity {
                        let measured = try imageSimilarity(onStep: { _ in try onProgress(index, stepCount, "") })
                        run.similarity.append((stepCount, measured.value))
                        run.images = measured.images
                        note += String(format: ", similarity %.4f", measured.value)
                    }
                }
                try onProgress(index, stepCount, note)
            }
            if let vectors { run.kept = try keep(name: "\(concept.name)-\(run.name)", vectors: vectors) }
            comparison.runs.append(run)
        }
        return comparison
    }

    /// The samplers of `compare`'s runs, or the error that stops it before anything runs (front ends
    /// check this before they show progress).
    public func comparisonSamplers(
        _ strategies: [TimestepStrategy], steps: Int, every: Int,
        profiles: [GradientDefinition: [ProfilePoint]] = [:], similarity: Bool
    ) throws -> [TimestepSampler] {
        guard concept?.images.isEmpty == false else {
            throw InversionError("compare trains on the concept images: use `concept NAME from IMAGES…` first")
        }
        guard !strategies.isEmpty else { throw InversionError("compare needs at least one strategy") }
        guard steps >= 1, every >= 1 else { throw InversionError("steps and every must be at least 1") }
        if similarity && !canMeasureSimilarity {
            throw InversionError("this pipeline has no image_encoder/, so compare can only use the evaluation loss")
        }
        let T = pipeline.schedule.trainSteps
        let names = strategies.map { $0.shortName(trainSteps: T) }
        guard Set(names).count == names.count else {
            throw InversionError("each strategy can be compared once: \(names.joined(separator: " "))")
        }
        return try strategies.map { strategy -> TimestepSampler in
            let profile: [ProfilePoint]
            if case .highGrad(_, let g, .model) = strategy {
                guard let model = modelProfile else { throw InversionError(ModelProfile.missing) }
                profile = model.points(g)
            } else {
                profile = strategy.gradientDefinition.flatMap { profiles[$0] } ?? []
            }
            do { return try TimestepSampler(strategy, trainSteps: T, profile: profile) } catch {
                throw InversionError("\(strategy.shortName(trainSteps: T)): \(error)")
            }
        }
    }
}
