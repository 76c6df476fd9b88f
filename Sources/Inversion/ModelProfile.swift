import Diffusion
import Foundation
import Graphics
import Numerics

/// g(t) of a model, the paper's way: "given a model trained with various images, we first compute its
/// grad norm during post-training optimization". Short uniform inversions of generic concepts, each
/// profiled after its optimisation; the mean over concepts and the spread across them, per definition.
/// High-grad picks its interval from this once per model (`strategy highgrad from=model`).
public struct ModelProfile: Codable, Equatable, Sendable {
    public var concepts: [String]
    /// Uniform inversion steps per concept before its profile.
    public var steps: Int
    public var samples: Int
    public var probes: Int
    /// Per definition: the mean over concepts of each concept's mean g(t), `std` across concepts.
    public var profiles: [String: [ProfilePoint]]
    /// The one-off cost: UNet passes (a forward and a backward each) and seconds, over all concepts.
    public var passes: Int
    public var seconds: Double

    public func points(_ g: GradientDefinition) -> [ProfilePoint] { profiles[g.rawValue] ?? [] }

    static let missing =
        "no model profile: run `profile model` (or load a model folder that holds \(fileName)) first"

    /// The file beside a model (`<model>/gradti-model-profile.json`) that `load` picks up.
    public static let fileName = StableDiffusionPipeline.modelProfileFile

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = SessionFileContents.nonFinite
        try FileAccess.writeAtomically(try encoder.encode(self), to: url)
    }

    /// The profile a model folder carries (`profile model save=model`), nil when it has none.
    public static func stored(in folder: URL) throws -> ModelProfile? {
        let url = folder.appendingPathComponent(fileName)
        return FileManager.default.fileExists(atPath: url.path) ? try read(url) : nil
    }

    public static func read(_ url: URL) throws -> ModelProfile {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            let profile = try decoder.decode(ModelProfile.self, from: try FileAccess.read(url, limit: 64 << 20))
            try profile.validate()
            return profile
        } catch let error as InversionError {
            throw InversionError("\(url.path): \(error.description)")
        } catch {
            throw InversionError("\(url.path) is not a model profile: \(error)")
        }
    }

    func validate() throws {
        guard !concepts.isEmpty, steps >= 0, samples >= 1, probes >= 0, passes >= 0, seconds >= 0,
            profiles.keys.allSatisfy({ GradientDefinition(rawValue: $0) != nil }),
            profiles.values.allSatisfy({ $0.allSatisfy { $0.t >= 0 && !($0.mean < 0) && !($0.std < 0) } })
        else { throw InversionError("a field is out of range") }
    }
}

/// A concept to profile a model with: a name, its images, the word its vector starts from.
public struct GenericConcept: Sendable {
    public var name: String
    public var images: [URL]
    public var initWord: String

    public init(name: String, images: [URL], initWord: String) {
        (self.name, self.images, self.initWord) = (name, images, initWord)
    }

    /// The concepts in `folder`: a benchmark (`subjects.json`), else one per subfolder of images (PNG,
    /// JPEG, WebP), else the folder's own images as one concept. Concepts without a word start from `object`.
    public static func read(_ folder: URL) throws -> [GenericConcept] {
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent(BenchmarkFile.name).path) {
            return try BenchmarkFile.read(folder).map { subject in
                GenericConcept(
                    name: subject.slug,
                    images: subject.images.map { Study.imageURL($0, of: subject, in: folder) },
                    initWord: subject.initWord)
            }
        }
        func pngs(_ url: URL) -> [URL] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            return names.filter { !$0.hasPrefix(".") && ImageFile.hasImageExtension($0) }.sorted()
                .map { url.appendingPathComponent($0) }
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw InversionError("\(folder.path) is not a folder of generic concepts")
        }
        let subfolders = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
            .map { folder.appendingPathComponent($0) }
            .filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
        var concepts = subfolders.compactMap { sub -> GenericConcept? in
            let images = pngs(sub)
            return images.isEmpty
                ? nil : GenericConcept(name: sub.lastPathComponent, images: images, initWord: "object")
        }
        if concepts.isEmpty, !pngs(folder).isEmpty {
            concepts = [GenericConcept(name: folder.lastPathComponent, images: pngs(folder), initWord: "object")]
        }
        guard !concepts.isEmpty else {
            throw InversionError(
                "\(folder.path) holds no concepts: give a folder with one subfolder of images per concept (or a "
                    + "benchmark with subjects.json)"
            )
        }
        return concepts
    }
}

extension Study {
    /// The one-off cost of the model profile that `highgrad-model` strategies used, on a line of its
    /// own (it is paid once per model, not per unit); nil when no strategy used it.
    public static func modelProfileLine(_ profile: ModelProfile?, strategies: [String]) -> String? {
        guard let profile, strategies.contains(where: { $0.lowercased().contains("-model") }) else { return nil }
        return String(
            format: "model profile (one-off, for the -model strategies): %d UNet passes, %.1f s, %d generic concepts "
                + "x %d steps", profile.passes, profile.seconds, profile.concepts.count, profile.steps)
    }
}

extension ModelProfile {
    /// Profiles `pipeline` with `concepts`: for each, `steps` uniform textual-inversion steps from its
    /// init word (seeded), then g(t) at `timesteps` from `samples` draws (and the Jacobian with `probes`).
    /// `onProgress(concept, phase)` may throw to stop.
    public static func measure(
        pipeline: StableDiffusionPipeline, concepts: [GenericConcept], steps: Int, timesteps: [Int], samples: Int,
        probes: Int = 0, seed: UInt64 = 0, onProgress: (_ concept: Int, _ note: String) throws -> Void = { _, _ in }
    ) throws -> ModelProfile {
        guard !concepts.isEmpty else { throw InversionError("profiling a model needs at least one concept") }
        let started = DispatchTime.now().uptimeNanoseconds
        var perConcept: [[GradientDefinition: [ProfilePoint]]] = []
        for (index, concept) in concepts.enumerated() {
            let session = InversionSession(pipeline: pipeline)
            var settings = InversionSession.Settings()
            settings.seed = seed
            try session.configure(settings)
            try session.setConcept(
                name: "generic-\(index)", images: concept.images, initWord: concept.initWord,
                shouldStop: { try onProgress(index, "") })
            for step in 0..<steps {
                try session.step(shouldStop: { try onProgress(index, "") })
                try onProgress(index, "\(concept.name): step \(step + 1) of \(steps)")
            }
            perConcept.append(
                try session.profile(timesteps: timesteps, samples: samples, probes: probes, seed: seed &+ 1) { point in
                    try onProgress(index, "\(concept.name): profile t = \(timesteps[point])")
                })
        }
        var profiles: [String: [ProfilePoint]] = [:]
        for g in GradientDefinition.allCases where perConcept[0][g] != nil {
            profiles[g.rawValue] = timesteps.indices.map { i in
                let means = perConcept.compactMap { $0[g]?[i].mean }
                let mean = means.reduce(0, +) / Double(means.count)
                let spread = means.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(means.count - 1, 1))
                return ProfilePoint(t: timesteps[i], mean: mean, std: spread.squareRoot())
            }
        }
        // Each step is one forward and backward pass per sample (batch 1); each profile draw one, plus a
        // backward per probe.
        let passes = concepts.count * (steps + timesteps.count * samples * (1 + probes))
        return ModelProfile(
            concepts: concepts.map(\.name), steps: steps, samples: samples, probes: probes, profiles: profiles,
            passes: passes, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }
}
