/// A problem with a model folder: a config value, a weight file, a missing or surplus tensor.
public struct ModelError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
