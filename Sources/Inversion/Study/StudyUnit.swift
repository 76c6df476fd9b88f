import Foundation

/// One (subject, seed) unit of a study.
public struct StudyUnit: Codable, Sendable {
    public struct Run: Codable, Sendable {
        public var strategy: String
        /// The timesteps it could sample, [lower, upper) (high-grad's as picked from the profile).
        public var allowed: [Int]
        public var steps: [Int]
        public var similarity: [Double]
        public var loss: [Double]
        public var secondsPerStep: Double
        /// Per evaluation (as `steps`), the loss of each fixed item (`StudyUnit.itemTimesteps`).
        public var itemLosses: [[Double]]?
        /// Per training step: the timesteps drawn, and g(t) measured at them (Eq. 4's norm and the
        /// MSE's gradient). Absent from results written before they were recorded.
        public var timesteps: [[Int]]?
        public var gNorm: [[Double]]?
        public var gMSE: [[Double]]?
    }
    /// What measuring cost: UNet passes (a forward and a backward each) and seconds.
    public struct Cost: Codable, Sendable, Equatable {
        public var passes: Int
        public var seconds: Double
    }
    public struct Profile: Codable, Sendable {
        public var t: [Int]
        public var mean: [Double]
        public var std: [Double]
        /// The definition of g; nil in results written before g had definitions (they measured `mse`).
        public var g: GradientDefinition?

        public init(t: [Int], mean: [Double], std: [Double], g: GradientDefinition?) {
            (self.t, self.mean, self.std, self.g) = (t, mean, std, g)
        }

        init(_ points: [ProfilePoint], g: GradientDefinition) {
            self.init(t: points.map(\.t), mean: points.map(\.mean), std: points.map(\.std), g: g)
        }

        var points: [ProfilePoint] { zip(t, mean).map { ProfilePoint(t: $0, mean: $1) } }
    }
    public var subject: String
    public var seed: UInt64
    public var runs: [Run]
    /// g(t) under the default definition (Eq. 4's norm; the MSE's in results written before g had
    /// definitions), before training.
    public var profileBefore: Profile
    /// With the reference (first) strategy's final vectors.
    public var profileAfter: Profile
    /// The same measurements under the other definition (the MSE's gradient); nil in older results.
    public var mseProfileBefore: Profile?
    public var mseProfileAfter: Profile?
    /// The grid of final generations per strategy, relative to the results folder.
    public var images: String?
    /// The timestep of each evaluation item, in `Run.itemLosses`' order.
    public var itemTimesteps: [Int]?
    /// The profile before training, which high-grad from=concept, tpeak and adaptive start from: a cost
    /// of those strategies (time-to-reach counts it). Absent from older results.
    public var profileCost: Cost?
}
