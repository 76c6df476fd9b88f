import Diffusion
import Foundation
import Inversion

/// The kernel's state between cells: the loaded pipeline and the inversion session on it.
public final class Workspace {
    public private(set) var pipeline: StableDiffusionPipeline?
    public private(set) var session: InversionSession?
    /// The last g(t) profile, which `strategy highgrad` and `strategy adaptive` start from.
    public var profile: [(t: Int, mean: Double, std: Double)] = []
    /// Every profile of this session with a label (`plot g` overlays them).
    public var profiles: [(label: String, points: [(t: Int, mean: Double, std: Double)])] = []
    public var strategy: TimestepStrategy?
    /// Where generated images are saved: outputs/ in the kernel's working directory (the notebook's folder).
    public var outputFolder = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("outputs")

    public init() {}

    public func load(_ folder: URL) throws {
        let pipeline = try StableDiffusionPipeline(folder: folder)
        self.pipeline = pipeline
        session = InversionSession(pipeline: pipeline)
        profile = []
        profiles = []
        strategy = nil
    }

    /// The session, or an error saying how to get one.
    public func requireSession() throws -> InversionSession {
        guard let session else { throw CommandError("no model loaded: use `load PATH` with a pipeline folder in the diffusers layout") }
        return session
    }
}
