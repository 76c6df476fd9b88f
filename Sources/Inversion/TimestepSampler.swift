import Foundation
import Numerics

/// How training timesteps are chosen: the paper's strategies.
public enum TimestepStrategy: Sendable, Equatable, CustomStringConvertible {
    /// Uniform over lower..<upper (default textual inversion: 0..<1000).
    case range(Int, Int)
    /// One timestep only (the paper's t = 400).
    case single(Int)
    /// Probability ∝ an on-the-fly estimate of g(t) per bin (Eq. 5), mixed with a uniform floor.
    case adaptive(bins: Int, floor: Double, ema: Double)
    /// The width-W interval with the highest profiled g(t), uniform inside it.
    case highGrad(width: Int)

    /// The settings `strategy adaptive` and `strategy highgrad` use unless told otherwise.
    public enum Defaults {
        public static let bins = 20, floor = 0.1, ema = 0.1, width = 100
    }
    public static let defaultAdaptive = TimestepStrategy.adaptive(
        bins: Defaults.bins, floor: Defaults.floor, ema: Defaults.ema)
    public static let defaultHighGrad = TimestepStrategy.highGrad(width: Defaults.width)

    public var description: String {
        switch self {
        case .range(let a, let b): return "uniform [\(a), \(b))"
        case .single(let t): return "single t = \(t)"
        case .adaptive(let bins, let floor, let ema): return "adaptive (bins=\(bins), floor=\(floor), ema=\(ema))"
        case .highGrad(let width): return "high-grad (width=\(width))"
        }
    }
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
    private var binWidth = 1

    /// - Parameter profile: measured g(t) (mean per timestep), needed by `highGrad` and used to seed `adaptive`.
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
        case .adaptive(let bins, let floor, let ema):
            guard bins >= 1 && bins <= trainSteps else {
                throw StrategyError(description: "bins must be between 1 and \(trainSteps)")
            }
            guard (0...1).contains(floor) else { throw StrategyError(description: "floor must be between 0 and 1") }
            guard ema > 0 && ema <= 1 else { throw StrategyError(description: "ema must be in (0, 1]") }
            allowed = 0..<trainSteps
            binWidth = (trainSteps + bins - 1) / bins
            estimates = Array(repeating: nil, count: bins)
            for point in profile { observe(t: point.t, norm: point.mean, weight: 1) }
        case .highGrad(let width):
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
        guard case .adaptive(let bins, let floor, _) = strategy else { return [] }
        let seen = estimates.compactMap { $0 }
        guard !seen.isEmpty, seen.reduce(0, +) > 0 else { return Array(repeating: 1 / Double(bins), count: bins) }
        let fill = seen.reduce(0, +) / Double(seen.count)
        let g = estimates.map { max($0 ?? fill, 0) }
        let total = g.reduce(0, +)
        return g.map { (1 - floor) * $0 / total + floor / Double(bins) }
    }

    /// The probability of drawing timestep t.
    public func probability(_ t: Int) -> Double {
        guard allowed.contains(t) else { return 0 }
        guard case .adaptive = strategy else { return 1 / Double(allowed.count) }
        let bin = t / binWidth
        let width = min(binWidth, trainSteps - bin * binWidth)
        return binProbabilities[bin] / Double(width)
    }

    public func sample(using generator: inout RandomGenerator) -> Int {
        guard case .adaptive = strategy else {
            return allowed.lowerBound + Int(generator.next() % UInt64(allowed.count))
        }
        let u = generator.uniformDouble()
        var cumulative = 0.0
        var bin = 0
        for (index, p) in binProbabilities.enumerated() {
            cumulative += p
            bin = index
            if u < cumulative { break }
        }
        let start = bin * binWidth
        let width = min(binWidth, trainSteps - start)
        return start + Int(generator.next() % UInt64(width))
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

    /// Feeds back a measured conditioning-gradient norm at t (adaptive only).
    public mutating func observe(t: Int, norm: Double, weight: Double? = nil) {
        guard case .adaptive(_, _, let ema) = strategy, (0..<trainSteps).contains(t), norm.isFinite else { return }
        let bin = t / binWidth
        let rate = weight ?? ema
        estimates[bin] = estimates[bin].map { (1 - rate) * $0 + rate * norm } ?? norm
    }
}
