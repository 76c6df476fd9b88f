import Diffusion
import Foundation
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

    public init(subjects: [String], strategies: [String], steps: Int, every: Int, seeds: [UInt64], batch: Int = 1,
                learningRate: Float = 5e-3, similarityImages: Int = 8, profileTimesteps: [Int] = Array(stride(from: 0, to: 1000, by: 50)),
                profileSamples: Int = 2) {
        (self.subjects, self.strategies, self.steps, self.every, self.seeds) = (subjects, strategies, steps, every, seeds)
        (self.batch, self.learningRate, self.similarityImages) = (batch, learningRate, similarityImages)
        (self.profileTimesteps, self.profileSamples) = (profileTimesteps, profileSamples)
    }
}

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
    }
    public struct Profile: Codable, Sendable {
        public var t: [Int]
        public var mean: [Double]
        public var std: [Double]
    }
    public var subject: String
    public var seed: UInt64
    public var runs: [Run]
    public var profileBefore: Profile
    /// With the reference (first) strategy's final vectors.
    public var profileAfter: Profile
    /// The grid of final generations per strategy, relative to the results folder.
    public var images: String?
}

public enum Study {
    /// The units already in `folder` (a results folder of this plan), and the plan check.
    public static func load(_ folder: URL, plan: StudyPlan) throws -> [StudyUnit] {
        let fm = FileManager.default
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let planURL = folder.appendingPathComponent("plan.json")
        if let data = fm.contents(atPath: planURL.path) {
            let saved = try JSONDecoder().decode(StudyPlan.self, from: data)
            let comparable = { (p: StudyPlan) in [p.strategies.joined(separator: " "), "\(p.steps) \(p.every) \(p.batch) \(p.learningRate) \(p.similarityImages) \(p.similaritySteps) \(p.similarityGuidance)"] }
            guard comparable(saved) == comparable(plan) else {
                throw InversionError("\(folder.path) holds a study with other settings (\(saved.strategies.joined(separator: " ")), steps=\(saved.steps), every=\(saved.every)); give another results= folder or remove it")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(plan).write(to: planURL, options: .atomic)
        let lines = (try? String(contentsOf: folder.appendingPathComponent("results.jsonl"), encoding: .utf8))?
            .split(separator: "\n") ?? []
        return try lines.map { try JSONDecoder().decode(StudyUnit.self, from: Data($0.utf8)) }
    }

    static func append(_ unit: StudyUnit, to folder: URL) throws {
        let url = folder.appendingPathComponent("results.jsonl")
        var line = try JSONEncoder().encode(unit)
        line.append(0x0A)
        if !FileManager.default.fileExists(atPath: url.path) { try Data().write(to: url) }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }

    /// Progress ticks of a plan: steps of every strategy and profiled timesteps, per unit.
    public static func ticks(_ plan: StudyPlan) -> Int { plan.subjects.count * plan.seeds.count * ticksPerUnit(plan) }
    static func ticksPerUnit(_ plan: StudyPlan) -> Int { plan.strategies.count * plan.steps + plan.profileTimesteps.count * 2 }

    /// Runs the units not yet in `folder`; returns all units of the plan found there afterwards.
    /// `progress(done, total, note)` may throw to stop (the unit under way is dropped whole).
    public static func run(_ plan: StudyPlan, benchmark: URL, pipeline: StableDiffusionPipeline, results folder: URL,
                           progress: (Int, Int, String) throws -> Void) throws -> [StudyUnit] {
        let subjects = try BenchmarkFile.read(benchmark)
        let chosen = try plan.subjects.map { slug -> BenchmarkSubject in
            guard let s = subjects.first(where: { $0.slug == slug }) else {
                throw InversionError("no subject \"\(slug)\" in \(benchmark.path); it has \(subjects.map(\.slug).joined(separator: ", "))")
            }
            return s
        }
        let T = pipeline.schedule.trainSteps
        let strategies = try plan.strategies.map { try TimestepStrategy(shortName: $0, trainSteps: T) }
        var units = try load(folder, plan: plan)
        let perUnit = ticksPerUnit(plan), total = ticks(plan)
        var done = 0
        for subject in chosen {
            for seed in plan.seeds {
                if units.contains(where: { $0.subject == subject.slug && $0.seed == seed }) {
                    done += perUnit
                    continue
                }
                let unit = try runUnit(subject, seed: seed, plan: plan, strategies: strategies, benchmark: benchmark, pipeline: pipeline,
                                       folder: folder) { note in
                    done += 1
                    try progress(done, total, "\(subject.slug) seed \(seed): \(note)")
                }
                try append(unit, to: folder)
                units.append(unit)
            }
        }
        return units.filter { plan.subjects.contains($0.subject) && plan.seeds.contains($0.seed) }
    }

    static func runUnit(_ subject: BenchmarkSubject, seed: UInt64, plan: StudyPlan, strategies: [TimestepStrategy], benchmark: URL,
                        pipeline: StableDiffusionPipeline, folder: URL, tick: (String) throws -> Void) throws -> StudyUnit {
        let session = InversionSession(pipeline: pipeline)
        var settings = InversionSession.Settings()
        settings.seed = seed
        settings.batch = plan.batch
        settings.learningRate = plan.learningRate
        try session.configure(settings)
        let images = subject.images.map { benchmark.appendingPathComponent(subject.slug).appendingPathComponent($0) }
        try session.setConcept(name: subject.slug, images: images, initWord: subject.initWord)
        session.similaritySettings.prompts = subject.prompts
        session.similaritySettings.images = plan.similarityImages
        session.similaritySettings.steps = plan.similaritySteps
        session.similaritySettings.guidance = plan.similarityGuidance
        func profile(_ label: String) throws -> StudyUnit.Profile {
            let points = try session.profile(timesteps: plan.profileTimesteps, samples: plan.profileSamples) { _ in try tick("profile \(label)") }
            return StudyUnit.Profile(t: points.map(\.t), mean: points.map(\.mean), std: points.map(\.std))
        }
        let before = try profile("before")
        let comparison = try session.compare(strategies, steps: plan.steps, every: plan.every, seed: seed,
                                             profile: zip(before.t, before.mean).map { (t: $0, mean: $1) },
                                             similarity: session.canMeasureSimilarity) { run, step, note in
            if !note.isEmpty { try tick("\(plan.strategies[run]) step \(step)") }
        }
        // After optimisation: g(t) with the reference strategy's final vectors.
        guard let reference = comparison.runs.first?.kept else { throw InversionError("the study's first run kept no embedding") }
        let saved = try session.captureState()
        var state = saved
        state.vectors = reference.vectors
        try session.restoreState(state)
        let after = try profile("after")
        try session.restoreState(saved)
        let runs = comparison.runs.map { run in
            StudyUnit.Run(strategy: run.name, allowed: [run.allowed.lowerBound, run.allowed.upperBound],
                          steps: run.evaluation.map(\.step), similarity: run.similarity.map(\.value),
                          loss: run.evaluation.map { Double($0.loss) }, secondsPerStep: run.seconds / Double(max(plan.steps, 1)))
        }
        // The last generations of every strategy, a row each (the paper's Fig. 2b), when similarity was measured.
        var grid: String?
        let withImages = comparison.runs.filter { !$0.images.isEmpty }
        if !withImages.isEmpty {
            let name = "images/\(subject.slug)-seed\(seed).png"
            let url = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Canvas.labelledGrid(withImages.flatMap(\.images), labels: withImages.flatMap { run in run.images.indices.map { _ in run.name } },
                                    columns: withImages[0].images.count, minimumSide: 64).writePNG(to: url)
            grid = name
        }
        return StudyUnit(subject: subject.slug, seed: seed, runs: runs, profileBefore: before, profileAfter: after, images: grid)
    }
}
