import Diffusion
import Foundation
import Graphics
import Numerics

/// The paper's study on a benchmark: every strategy on every chosen subject with the same seeds,
/// CLIP image similarity and the evaluation loss every K steps, g(t) profiled before and after.
/// Each finished (subject, seed) unit is appended to `results.jsonl`, so a stopped study resumes.
public struct StudyPlan: Codable, Equatable, Sendable {
    public var subjects: [String]
    /// Short names (`uniform`, `350-450`, `t400`, `adaptive`, …).
    public var strategies: [String]
    public var steps: Int
    public var every: Int
    public var seeds: [UInt64]
    public var batch: Int
    public var learningRate: Float
    public var similarityImages: Int
    /// DDIM steps of each similarity generation.
    public var similaritySteps = 20
    public var similarityGuidance: Float = 5
    public var profileTimesteps: [Int]
    public var profileSamples: Int
    /// The model (by content: `StableDiffusionPipeline.fingerprint`) and the metric, so results of
    /// another model or metric are never mixed in.
    public var model = ""
    public var metric = ""
    /// What the concepts train with: `captions` when every image of the benchmark's subjects has a caption
    /// file, else `object` (textual inversion's templates; also studies written before captions).
    public var prompts: String?
    /// The CLIP that measures similarity, by its folder's name (nil: the pipeline's own image encoder).
    public var evaluator: String?

    /// What must agree for units to be averaged together, named as the user sets it.
    var comparable: KeyValuePairs<String, String> {
        [
            "strategies": strategies.joined(separator: ","), "steps": "\(steps)", "every": "\(every)",
            "batch": "\(batch)",
            "lr": "\(learningRate)", "similarity images": "\(similarityImages)",
            "similarity DDIM steps": "\(similaritySteps)",
            "similarity cfg": "\(similarityGuidance)",
            "profile timesteps": profileTimesteps.map(String.init).joined(separator: ","),
            "profile samples": "\(profileSamples)", "model": model, "metric": metric,
            "training prompts": prompts ?? ConceptKind.object.rawValue,
            "evaluator": evaluator ?? "the pipeline's own"
        ]
    }

    /// The settings in which `other` differs from this plan, as "name: ours (theirs)".
    func differences(from other: StudyPlan) -> [String] {
        zip(comparable, other.comparable).filter { $0.0.value != $0.1.value }.map {
            "\($0.0.key) \($0.1.value) (this study: \($0.0.value))"
        }
    }

    /// The paper's strategies.
    public static let paperStrategies = ["uniform", "900-1000", "0-100", "350-450", "t400", "adaptive"]

    /// Throws when the plan cannot run on a schedule of `trainSteps` (before any result is written).
    public func validate(trainSteps: Int) throws {
        guard !subjects.isEmpty, !seeds.isEmpty, !strategies.isEmpty else {
            throw InversionError("a study needs subjects, seeds and strategies")
        }
        guard Set(strategies).count == strategies.count else {
            throw InversionError("each strategy can be studied once: \(strategies.joined(separator: ","))")
        }
        guard steps >= 1, every >= 1, (1...64).contains(batch), (1...64).contains(similarityImages),
            similaritySteps >= 1
        else {
            throw InversionError("steps and every must be at least 1, batch and images between 1 and 64")
        }
        for name in strategies {
            let strategy = try TimestepStrategy(shortName: name, trainSteps: trainSteps)
            do {
                _ = try TimestepSampler(strategy, trainSteps: trainSteps, profile: [ProfilePoint(t: 0, mean: 1)])
            } catch {
                throw InversionError("\(name): \(error)")
            }
        }
        for t in profileTimesteps where !(0..<trainSteps).contains(t) {
            throw InversionError("profile timestep \(t) is outside the schedule's 0...\(trainSteps - 1)")
        }
    }

    public init(
        subjects: [String], strategies: [String], steps: Int, every: Int, seeds: [UInt64], batch: Int = 1,
        learningRate: Float = 5e-3, similarityImages: Int = 8,
        profileTimesteps: [Int] = Array(stride(from: 0, to: 1000, by: 50)),
        profileSamples: Int = 2
    ) {
        (self.subjects, self.strategies, self.steps, self.every, self.seeds) = (
            subjects, strategies, steps, every, seeds
        )
        (self.batch, self.learningRate, self.similarityImages) = (batch, learningRate, similarityImages)
        (self.profileTimesteps, self.profileSamples) = (profileTimesteps, profileSamples)
    }
}

public enum Study {
    /// Diverged runs give NaN or infinities: written as strings, so a unit with them is still kept.
    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }
    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// The units already in `folder` (a results folder of this plan). A folder with units of other
    /// settings is refused; a last line cut short by a stop mid-write is dropped.
    public static func load(_ folder: URL, plan: StudyPlan) throws -> [StudyUnit] {
        let fm = FileManager.default
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let resultsURL = folder.appendingPathComponent("results.jsonl")
        let planURL = folder.appendingPathComponent("plan.json")
        var text = try readIfPresent(resultsURL)
        if !text.isEmpty && !text.hasSuffix("\n") {
            // Stopped while writing: keep the complete lines only.
            text = text.range(of: "\n", options: .backwards).map { String(text[..<$0.upperBound]) } ?? ""
            try FileAccess.writeAtomically(text, to: resultsURL)
        }
        let units = try units(in: text, source: resultsURL)
        var written = plan
        if !units.isEmpty, let data = try? FileAccess.read(planURL),
            let saved = try? JSONDecoder().decode(StudyPlan.self, from: data)
        {
            let differences = plan.differences(from: saved)
            guard differences.isEmpty else {
                let prompts =
                    (plan.prompts ?? "object") != (saved.prompts ?? "object")
                    ? " (training prompts follow the benchmark: its images' captions when each has a caption file "
                        + "next to it, else the object templates)"
                    : ""
                throw InversionError(
                    "\(folder.path) holds a study with other settings: \(differences.joined(separator: "; ")); give "
                        + "another results= folder, remove it, or use its settings\(prompts)"
                )
            }
            // plan.json names every subject and seed of the folder, not only this run's.
            written.subjects = saved.subjects + plan.subjects.filter { !saved.subjects.contains($0) }
            written.seeds = saved.seeds + plan.seeds.filter { !saved.seeds.contains($0) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileAccess.writeAtomically(encoder.encode(written), to: planURL)
        return units
    }

    /// A results file's text, or "" when there is none yet; a file that exists but cannot be read is
    /// an error (taking it as empty would start the study again beside it).
    static func readIfPresent(_ url: URL) throws -> String {
        guard FileManager.default.fileExists(atPath: url.path) else { return "" }
        return try FileAccess.readText(url, limit: 1 << 30)
    }

    /// Every unit saved in `folder` (none when it has no results yet).
    public static func savedUnits(in folder: URL) throws -> [StudyUnit] {
        let resultsURL = folder.appendingPathComponent("results.jsonl")
        return try units(in: try readIfPresent(resultsURL), source: resultsURL)
    }

    private static func units(in text: String, source: URL) throws -> [StudyUnit] {
        try text.split(separator: "\n").enumerated().map { index, line in
            do { return try decoder.decode(StudyUnit.self, from: Data(line.utf8)) } catch {
                throw InversionError("\(source.path), line \(index + 1), is not a study unit: \(error)")
            }
        }
    }

    static func append(_ unit: StudyUnit, to folder: URL) throws {
        let url = folder.appendingPathComponent("results.jsonl")
        var line = try encoder.encode(unit)
        line.append(0x0A)
        if !FileManager.default.fileExists(atPath: url.path) { try Data().write(to: url) }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }

    /// Progress ticks of a plan: steps of every strategy and profiled timesteps, per unit.
    public static func ticks(_ plan: StudyPlan) -> Int { plan.subjects.count * plan.seeds.count * ticksPerUnit(plan) }
    static func ticksPerUnit(_ plan: StudyPlan) -> Int {
        plan.strategies.count * plan.steps + plan.profileTimesteps.count * 2
    }

    /// Runs the units not yet in `folder`; returns all units of the plan found there afterwards.
    /// `progress(done, total, note)` reports each tick; it and `shouldStop`, which is also asked
    /// inside steps and measurements, may throw to stop (the unit under way is dropped whole).
    public static func run(
        _ plan: StudyPlan, benchmark: URL, pipeline: StableDiffusionPipeline, results folder: URL,
        modelProfile: ModelProfile? = nil, evaluator: CLIPEvaluator? = nil, shouldStop: () throws -> Void = {},
        progress: (Int, Int, String) throws -> Void
    ) throws -> [StudyUnit] {
        let subjects = try BenchmarkFile.read(benchmark)
        let chosen = try plan.subjects.map { slug -> BenchmarkSubject in
            guard let s = subjects.first(where: { $0.slug == slug }) else {
                throw InversionError(
                    "no subject \"\(slug)\" in \(benchmark.path); it has "
                        + "\(subjects.map(\.slug).joined(separator: ", "))"
                )
            }
            return s
        }
        let T = pipeline.schedule.trainSteps
        var plan = plan
        plan.model = try pipeline.fingerprint(shouldStop: shouldStop)
        plan.metric = pipeline.imageEncoder != nil || evaluator != nil ? "similarity" : "loss"
        plan.evaluator = evaluator.map { URL(fileURLWithPath: $0.source).lastPathComponent }
        let captionFiles = chosen.flatMap { subject in
            subject.images.map { Concept.captionFile(imageURL($0, of: subject, in: benchmark)) }
        }
        let captioned = captionFiles.allSatisfy { FileManager.default.fileExists(atPath: $0.path) }
        // Checked now rather than when their subject's turn comes, hours later.
        if captioned { for file in captionFiles { _ = try Captions.read(file, initWord: "") } }
        plan.prompts = (captioned ? ConceptKind.captions : .object).rawValue
        try plan.validate(trainSteps: T)
        let strategies = try plan.strategies.map { try TimestepStrategy(shortName: $0, trainSteps: T) }
        for case .highGrad(_, let g, .model) in strategies where (modelProfile?.points(g) ?? []).isEmpty {
            throw InversionError(
                modelProfile == nil
                    ? ModelProfile.missing : "the model profile has no g=\(g.rawValue): run `profile model` again")
        }
        var units = try load(folder, plan: plan)
        // Its one-off cost is the study's, reported on its own line (`ModelProfile.fileName` in the results).
        if let modelProfile,
            strategies.contains(where: { if case .highGrad(_, _, .model) = $0 { true } else { false } })
        {
            try modelProfile.write(to: folder.appendingPathComponent(ModelProfile.fileName))
        }
        let perUnit = ticksPerUnit(plan)
        let total = ticks(plan)
        var done = 0
        for subject in chosen {
            for seed in plan.seeds {
                if units.contains(where: { $0.subject == subject.slug && $0.seed == seed }) {
                    done += perUnit
                    continue
                }
                try shouldStop()
                let unit = try runUnit(
                    subject, seed: seed, plan: plan, strategies: strategies, benchmark: benchmark, pipeline: pipeline,
                    folder: folder, modelProfile: modelProfile, evaluator: evaluator, shouldStop: shouldStop
                ) { note in
                    done += 1
                    try progress(done, total, "\(subject.slug) seed \(seed): \(note)")
                }
                try append(unit, to: folder)
                units.append(unit)
            }
        }
        return units.filter { plan.subjects.contains($0.subject) && plan.seeds.contains($0.seed) }
    }

    static func imageURL(_ name: String, of subject: BenchmarkSubject, in benchmark: URL) -> URL {
        benchmark.appendingPathComponent(subject.slug).appendingPathComponent(name)
    }

    static func runUnit(
        _ subject: BenchmarkSubject, seed: UInt64, plan: StudyPlan, strategies: [TimestepStrategy], benchmark: URL,
        pipeline: StableDiffusionPipeline, folder: URL, modelProfile: ModelProfile? = nil,
        evaluator: CLIPEvaluator? = nil,
        shouldStop: () throws -> Void = {}, tick: (String) throws -> Void
    ) throws -> StudyUnit {
        let session = InversionSession(pipeline: pipeline)
        session.modelProfile = modelProfile
        session.setEvaluator(evaluator)
        var settings = InversionSession.Settings()
        settings.seed = seed
        settings.batch = plan.batch
        settings.learningRate = plan.learningRate
        try session.configure(settings)
        let images = subject.images.map { imageURL($0, of: subject, in: benchmark) }
        try session.setConcept(
            name: subject.slug, images: images, initWord: subject.initWord,
            kind: ConceptKind(rawValue: plan.prompts ?? "") ?? .object, shouldStop: shouldStop)
        session.similaritySettings.prompts = subject.prompts
        session.similaritySettings.images = plan.similarityImages
        session.similaritySettings.steps = plan.similaritySteps
        session.similaritySettings.guidance = plan.similarityGuidance
        func profile(_ label: String) throws -> [GradientDefinition: [ProfilePoint]] {
            try session.profile(timesteps: plan.profileTimesteps, samples: plan.profileSamples) { _ in
                try tick("profile \(label)")
            }
        }
        let profileStarted = DispatchTime.now().uptimeNanoseconds
        let before = try profile("before")
        let profileCost = StudyUnit.Cost(
            passes: plan.profileTimesteps.count * plan.profileSamples,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - profileStarted) / 1e9)
        let comparison = try session.compare(
            strategies, steps: plan.steps, every: plan.every, seed: seed, profiles: before,
            similarity: session.canMeasureSimilarity
        ) { run, step, note in
            // An empty note is a poll from inside a step or a measurement.
            if note.isEmpty { try shouldStop() } else { try tick("\(plan.strategies[run]) step \(step)") }
        }
        // After optimisation: g(t) with the reference strategy's final vectors.
        guard let reference = comparison.runs.first?.kept else {
            throw InversionError("the study's first run kept no embedding")
        }
        let saved = try session.captureState()
        var state = saved
        state.vectors = reference.vectors
        try session.restoreState(state)
        let after = try profile("after")
        try session.restoreState(saved)
        let runs = comparison.runs.map { run in
            StudyUnit.Run(
                strategy: run.name, allowed: [run.allowed.lowerBound, run.allowed.upperBound],
                steps: run.evaluation.map(\.step), similarity: run.similarity.map(\.value),
                loss: run.evaluation.map { Double($0.loss) }, secondsPerStep: run.seconds / Double(max(plan.steps, 1)),
                itemLosses: run.itemLosses.map { $0.map(Double.init) }, timesteps: run.records.map(\.timesteps),
                gNorm: run.records.map { $0.gradientNorms.map(\.norm) },
                gMSE: run.records.map { $0.gradientNorms.map(\.mse) })
        }
        // The last generations of every strategy, a row each (the paper's Fig. 2b), when similarity was measured.
        var grid: String?
        let withImages = comparison.runs.filter { !$0.images.isEmpty }
        if !withImages.isEmpty {
            let name = "images/\(subject.slug)-seed\(seed).png"
            let url = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Canvas.labelledGrid(
                withImages.flatMap(\.images),
                labels: withImages.flatMap { run in run.images.indices.map { _ in run.name } },
                columns: withImages[0].images.count, minimumSide: 64
            ).writePNG(to: url)
            grid = name
        }
        return StudyUnit(
            subject: subject.slug, seed: seed, runs: runs,
            profileBefore: StudyUnit.Profile(before[.norm] ?? [], g: .norm),
            profileAfter: StudyUnit.Profile(after[.norm] ?? [], g: .norm),
            mseProfileBefore: StudyUnit.Profile(before[.mse] ?? [], g: .mse),
            mseProfileAfter: StudyUnit.Profile(after[.mse] ?? [], g: .mse), images: grid,
            itemTimesteps: session.evaluationTimesteps, profileCost: profileCost)
    }
}
