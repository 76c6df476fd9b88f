/// Bounds of the config values that size a model: far beyond any published model, yet tight
/// enough that a corrupt or hostile config fails with the key's name instead of dividing by zero,
/// trapping on a negative size or asking for terabytes.
enum ModelLimits {
    static let width = 1...65_536
    static let layers = 1...1_024
    static let heads = 1...4_096
    static let vocabulary = 1...10_000_000
    static let positions = 1...65_536
    static let imageChannels = 1...64
    static let sampleSize = 1...16_384
    static let blocks = 1...16
    static let groups = 1...4_096
    static let eps = 0.0...1.0
}
