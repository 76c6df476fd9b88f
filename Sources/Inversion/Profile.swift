import Foundation

/// One timestep of a g(t) profile: the mean and standard deviation of ‖∇_c loss‖ over its draws.
public struct ProfilePoint: Codable, Equatable, Sendable {
    public var t: Int
    public var mean: Double
    public var std: Double
    /// g=jacobian: the mean standard error of the per-sample estimates, from their random probes.
    public var probeError: Double?

    public init(t: Int, mean: Double, std: Double = 0, probeError: Double? = nil) {
        self.t = t
        self.mean = mean
        self.std = std
        self.probeError = probeError
    }
}

/// A labelled g(t) profile ("after 200 steps") under one definition of g; a session keeps each it
/// measured, and `plot g` overlays them.
public struct Profile: Codable, Equatable, Sendable {
    public var label: String
    public var definition: GradientDefinition
    public var points: [ProfilePoint]

    public init(label: String, definition: GradientDefinition, points: [ProfilePoint]) {
        self.label = label
        self.definition = definition
        self.points = points
    }

    enum CodingKeys: String, CodingKey {
        case label
        case definition = "g"
        case points
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        label = try container.decode(String.self, forKey: .label)
        // Profiles saved before g had definitions measured the MSE's gradient.
        definition = try container.decodeIfPresent(GradientDefinition.self, forKey: .definition) ?? .mse
        points = try container.decode([ProfilePoint].self, forKey: .points)
    }
}

/// A change of strategy or setting in the middle of a run, and the step it took effect after.
public struct SettingChange: Codable, Equatable, Sendable {
    public var step: Int
    public var change: String

    public init(step: Int, change: String) {
        self.step = step
        self.change = change
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
    /// The last profile under definition `g`, which `strategy adaptive` and `strategy highgrad` start from.
    public func lastProfile(_ g: GradientDefinition) -> [ProfilePoint] {
        profiles.last { $0.definition == g }?.points ?? []
    }

    /// The last profile of each definition (those never measured are absent).
    public var lastProfiles: [GradientDefinition: [ProfilePoint]] {
        var last: [GradientDefinition: [ProfilePoint]] = [:]
        for profile in profiles { last[profile.definition] = profile.points }
        return last
    }

    /// Keeps profiles the session measured (see `profile(timesteps:samples:)`), one per definition.
    /// Keeps at most the last 1,000 (what a session file holds).
    public func recordProfile(_ measured: [GradientDefinition: [ProfilePoint]], label: String) {
        for g in GradientDefinition.allCases {
            if let points = measured[g] { profiles.append(Profile(label: label, definition: g, points: points)) }
        }
        if profiles.count > SessionFileContents.maxProfiles {
            profiles.removeFirst(profiles.count - SessionFileContents.maxProfiles)
        }
    }

    /// Whether `step` and `evaluate` measure CLIP image similarity.
    public var measuresSimilarity: Bool { (measurement.similarity ?? true) && canMeasureSimilarity }
}
