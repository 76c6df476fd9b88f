import Foundation

/// One timestep of a g(t) profile: the mean and standard deviation of ‖∇_c loss‖ over its draws.
public struct ProfilePoint: Codable, Equatable, Sendable {
    public var t: Int
    public var mean: Double
    public var std: Double

    public init(t: Int, mean: Double, std: Double = 0) {
        self.t = t
        self.mean = mean
        self.std = std
    }
}

/// A labelled g(t) profile ("after 200 steps"); a session keeps each it measured, and `plot g`
/// overlays them.
public struct Profile: Codable, Equatable, Sendable {
    public var label: String
    public var points: [ProfilePoint]

    public init(label: String, points: [ProfilePoint]) {
        self.label = label
        self.points = points
    }
}

/// When training measures: the evaluation loss every `every` steps (0: never), and CLIP image
/// similarity with it when `similarity` is on (nil: whenever the pipeline has an image encoder).
public struct MeasurementSettings: Codable, Equatable, Sendable {
    public var every = 0
    public var similarity: Bool?
    public init() {}
}

extension InversionSession {
    /// The last profile, which `strategy adaptive` and `strategy highgrad` start from.
    public var lastProfile: [ProfilePoint] { profiles.last?.points ?? [] }

    /// Keeps a profile the session measured (see `profile(timesteps:samples:)`).
    /// Keeps at most the last 1,000 (what a session file holds).
    public func recordProfile(_ points: [ProfilePoint], label: String) {
        profiles.append(Profile(label: label, points: points))
        if profiles.count > SessionFileContents.maxProfiles {
            profiles.removeFirst(profiles.count - SessionFileContents.maxProfiles)
        }
    }

    /// Whether `step` and `evaluate` measure CLIP image similarity.
    public var measuresSimilarity: Bool { (measurement.similarity ?? true) && canMeasureSimilarity }
}
