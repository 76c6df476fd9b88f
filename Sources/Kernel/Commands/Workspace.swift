import Diffusion
import Foundation
import Inversion
import Numerics

/// The kernel's state between cells: the loaded pipeline, the inversion session on it (which owns
/// everything about training: strategy, profiles, measurement settings, histories) and what the
/// kernel shows (the last comparison, the output folder).
public final class Workspace {
    public private(set) var pipeline: StableDiffusionPipeline?
    public private(set) var session: InversionSession?
    /// The last `compare`.
    public var comparison: Comparison?
    /// Saves during `step` (`autosave every=K`); kept across models and concepts.
    public var autosave: Autosave?
    /// Where generated images are saved: outputs/ in the kernel's working directory (the notebook's folder).
    public var outputFolder = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(
        "outputs")

    public init() {}

    /// New files in the output folder, named `PREFIX` + the time in seconds + each suffix; a counter
    /// follows the time when those names are taken, so cells run within one second never overwrite
    /// each other's images.
    func newOutputs(prefix: String = "", suffixes: [String]) throws -> [URL] {
        do { try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true) } catch {
            throw CommandError("cannot create \(displayPath(outputFolder)): \(error.localizedDescription)")
        }
        let base = "\(prefix)\(Int(Date().timeIntervalSince1970))"
        var stamp = base
        var attempt = 1
        while true {
            let urls = suffixes.map { outputFolder.appendingPathComponent(stamp + $0) }
            if !urls.contains(where: { FileManager.default.fileExists(atPath: $0.path) }) { return urls }
            attempt += 1
            stamp = "\(base)-\(attempt)"
        }
    }

    /// Loads a pipeline and starts a new session on it. `beforeCommit` runs once the model is read and
    /// may throw (an interrupt during the load): then the workspace is left as it was.
    public func load(_ folder: URL, variant: String? = nil, beforeCommit: () throws -> Void = {}) throws {
        let pipeline = try StableDiffusionPipeline(folder: folder, variant: variant)
        // A model folder may carry its profile from generic concepts (`profile model save=model`).
        let modelProfile = try ModelProfile.stored(in: folder)
        try beforeCommit()
        self.pipeline = pipeline
        session = InversionSession(pipeline: pipeline)
        session?.modelProfile = modelProfile
        comparison = nil
    }

    /// The adaptive and high-grad settings `compare` uses: the current strategy's when it is one.
    var adaptiveDefaults: TimestepStrategy {
        if let strategy = session?.sampler.strategy, case .adaptive = strategy { return strategy }
        return .defaultAdaptive
    }
    var highGradDefaults: TimestepStrategy {
        if let strategy = session?.sampler.strategy, case .highGrad = strategy { return strategy }
        return .defaultHighGrad
    }

    /// The session, or an error saying how to get one.
    public func requireSession() throws -> InversionSession {
        guard let session else { throw CommandError(Self.noModel) }
        return session
    }

    /// The session with a concept that has images (to train on, profile or measure), or an error
    /// saying how to get there; commands check it before they show any progress.
    public func requireConcept() throws -> (session: InversionSession, concept: Concept) {
        let session = try requireSession()
        guard let concept = session.concept else { throw CommandError(InversionError.noConcept.description) }
        guard !concept.images.isEmpty else { throw CommandError(InversionError.noImages(concept.name).description) }
        return (session, concept)
    }

    static let noModel =
        "no model loaded: use `load` for the embedded model, or `load PATH` for a pipeline folder in the diffusers "
        + "layout"
}
