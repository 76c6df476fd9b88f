import Foundation
import Numerics

/// How training timesteps are chosen: the paper's strategies.
public enum TimestepStrategy: Sendable, Equatable, CustomStringConvertible {
    /// Uniform over lower..<upper (default textual inversion: 0..<1000).
    case range(Int, Int)
    /// One timestep only (the paper's t = 400).
    case single(Int)
    /// Probability ∝ an on-the-fly estimate of g(t) per bin (Eq. 5), mixed with a uniform floor.
    case adaptive(bins: Int, floor: Double, ema: Double, g: GradientDefinition = .default)
    /// The width-W interval with the highest profiled g(t), uniform inside it; the profile is the
    /// concept's own (before training) or the model's (`ModelProfile`, the paper's way).
    case highGrad(width: Int, g: GradientDefinition = .default, from: ProfileSource = .concept)

    /// The settings `strategy adaptive` and `strategy highgrad` use unless told otherwise.
    public enum Defaults {
        public static let bins = 20, floor = 0.1, ema = 0.1, width = 100
    }
    public static let defaultAdaptive = TimestepStrategy.adaptive(
        bins: Defaults.bins, floor: Defaults.floor, ema: Defaults.ema, g: .default)
    public static let defaultHighGrad = TimestepStrategy.highGrad(width: Defaults.width, g: .default)

    /// The definition of g(t) the strategy follows (nil for those that follow none).
    public var gradientDefinition: GradientDefinition? {
        switch self {
        case .adaptive(_, _, _, let g), .highGrad(_, let g, _): g
        case .range, .single: nil
        }
    }

    public var description: String {
        switch self {
        case .range(let a, let b): return "uniform [\(a), \(b))"
        case .single(let t): return "single t = \(t)"
        case .adaptive(let bins, let floor, let ema, let g):
            return "adaptive (bins=\(bins), floor=\(floor), ema=\(ema), g=\(g.rawValue))"
        case .highGrad(let width, let g, let from):
            return "high-grad (width=\(width), g=\(g.rawValue), from=\(from.rawValue))"
        }
    }
}

/// Where high-grad's profile comes from.
public enum ProfileSource: String, Sendable, CaseIterable {
    /// The session's last profile of the concept being learned.
    case concept
    /// The model's profile after short inversions of generic concepts (`profile model`).
    case model
}

public struct StrategyError: Error, CustomStringConvertible {
    public let description: String
}

/// Samples timesteps for a strategy and learns from the conditioning-gradient norms it observes.
public struct TimestepSampler: Sendable {
    public let strategy: TimestepStrategy
    public let trainSteps: Int
    /// The timesteps this sampler may return.
    public private(set) var allowed: Range<Int>
    /// Adaptive: the running estimate of g per bin (nil until a bin is observed or profiled).
    public private(set) var estimates: [Double?] = []

    /// - Parameter profile: measured g(t) (mean per timestep, under the strategy's definition), needed by
    ///   `highGrad` and used to seed `adaptive`.
    public init(_ strategy: TimestepStrategy, trainSteps: Int, profile: [ProfilePoint] = []) throws {
        self.strategy = strategy
        self.trainSteps = trainSteps
        func inSchedule(_ t: Int) throws {
            guard (0..<trainSteps).contains(t) else {
                throw StrategyError(description: "timestep \(t) is outside the schedule's 0...\(trainSteps - 1)")
            }
        }
        switch strategy {
        case .range(let lower, let upper):
            try inSchedule(lower)
            guard upper > lower, upper <= trainSteps else {
                throw StrategyError(
                    description: "the range [\(lower), \(upper)) must be non-empty and end at most at \(trainSteps)")
            }
            allowed = lower..<upper
        case .single(let t):
            try inSchedule(t)
            allowed = t..<(t + 1)
        case .adaptive(let bins, let floor, let ema, _):
            guard bins >= 1 && bins <= trainSteps else {
                throw StrategyError(description: "bins must be between 1 and \(trainSteps)")
            }
            guard (0...1).contains(floor) else { throw StrategyError(description: "floor must be between 0 and 1") }
            guard ema > 0 && ema <= 1 else { throw StrategyError(description: "ema must be in (0, 1]") }
            allowed = 0..<trainSteps
            estimates = Array(repeating: nil, count: bins)
            // Each bin starts from the mean of the profiled points inside it.
            var sums = [(total: Double, count: Int)](repeating: (0, 0), count: bins)
            for point in profile where (0..<trainSteps).contains(point.t) && point.mean.isFinite {
                let bin = self.bin(of: point.t)
                sums[bin] = (sums[bin].total + point.mean, sums[bin].count + 1)
            }
            for (bin, sum) in sums.enumerated() where sum.count > 0 { estimates[bin] = sum.total / Double(sum.count) }
        case .highGrad(let width, _, _):
            guard width >= 1 && width <= trainSteps else {
                throw StrategyError(description: "width must be between 1 and \(trainSteps)")
            }
            guard !profile.isEmpty else {
                throw StrategyError(
                    description: "high-grad picks its interval from a profile of g(t): run `profile` first")
            }
            let start = Self.bestInterval(profile, width: width, trainSteps: trainSteps)
            allowed = start..<(start + width)
        }
    }

    /// The start of the width-W interval whose profiled points have the highest mean g.
    static func bestInterval(_ profile: [ProfilePoint], width: Int, trainSteps: Int) -> Int {
        var best = (start: 0, score: -Double.infinity)
        for start in 0...(trainSteps - width) {
            let inside = profile.filter { $0.t >= start && $0.t < start + width }
            guard !inside.isEmpty else { continue }
            let score = inside.map(\.mean).reduce(0, +) / Double(inside.count)
            if score > best.score { best = (start, score) }
        }
        if best.score == -.infinity {
            // No profiled point fits in any window: centre the window on the highest point.
            let top = profile.max { $0.mean < $1.mean }!.t
            return min(max(0, top - width / 2), trainSteps - width)
        }
        return best.start
    }

    /// The adaptive sampling distribution over bins: (1 − floor) · ĝ_b / Σ ĝ + floor / B, with
    /// unobserved bins at the mean of the observed ones.
    public var binProbabilities: [Double] {
        guard case .adaptive(let bins, let floor, _, _) = strategy else { return [] }
        let seen = estimates.compactMap { $0 }
        guard !seen.isEmpty, seen.reduce(0, +) > 0 else { return Array(repeating: 1 / Double(bins), count: bins) }
        let fill = seen.reduce(0, +) / Double(seen.count)
        let g = estimates.map { max($0 ?? fill, 0) }
        let total = g.reduce(0, +)
        return g.map { (1 - floor) * $0 / total + floor / Double(bins) }
    }

    /// The timesteps of adaptive's bin `b`: the schedule cut into `estimates.count` runs of
    /// ⌊T/B⌋ or ⌈T/B⌉ timesteps, none empty (bins ≤ T).
    public func timesteps(ofBin b: Int) -> Range<Int> {
        let bins = estimates.count
        return (b * trainSteps / bins)..<((b + 1) * trainSteps / bins)
    }

    /// The adaptive bin that holds timestep t.
    func bin(of t: Int) -> Int {
        var b = t * estimates.count / trainSteps
        while b > 0 && timesteps(ofBin: b).lowerBound > t { b -= 1 }
        while b < estimates.count - 1 && timesteps(ofBin: b).upperBound <= t { b += 1 }
        return b
    }

    /// The probability of drawing timestep t.
    public func probability(_ t: Int) -> Double {
        guard allowed.contains(t) else { return 0 }
        guard case .adaptive = strategy else { return 1 / Double(allowed.count) }
        let bin = bin(of: t)
        return binProbabilities[bin] / Double(timesteps(ofBin: bin).count)
    }

    public func sample(using generator: inout RandomGenerator) -> Int {
        guard case .adaptive = strategy else {
            return allowed.lowerBound + Int(generator.next() % UInt64(allowed.count))
        }
        let probabilities = binProbabilities
        let u = generator.uniformDouble()
        var cumulative = 0.0
        // If rounding leaves the sum below u, the last bin that can be drawn (never one of probability 0).
        var bin = probabilities.lastIndex { $0 > 0 } ?? 0
        for (index, p) in probabilities.enumerated() where p > 0 {
            cumulative += p
            if u < cumulative {
                bin = index
                break
            }
        }
        let range = timesteps(ofBin: bin)
        return range.lowerBound + Int(generator.next() % UInt64(range.count))
    }

    /// Restores a saved high-grad interval (which came from a profile not kept in the session).
    public mutating func restore(allowed saved: Range<Int>) {
        guard case .highGrad = strategy, saved.lowerBound >= 0, saved.upperBound <= trainSteps, !saved.isEmpty else {
            return
        }
        allowed = saved
    }

    /// Restores saved per-bin estimates (adaptive only).
    public mutating func restore(estimates saved: [Double?]) {
        if saved.count == estimates.count { estimates = saved }
    }

    /// Feeds back the conditioning-gradient norms measured at t (adaptive only, which follows its definition).
    public mutating func observe(t: Int, norms: GradientNorms) {
        guard case .adaptive(_, _, _, let g) = strategy else { return }
        observe(t: t, norm: norms.value(g))
    }

    /// Feeds back a measured g at t, under the strategy's definition (adaptive only).
    public mutating func observe(t: Int, norm: Double) {
        guard case .adaptive(_, _, let ema, _) = strategy, (0..<trainSteps).contains(t), norm.isFinite else { return }
        let bin = bin(of: t)
        estimates[bin] = estimates[bin].map { (1 - ema) * $0 + ema * norm } ?? norm
    }
}
