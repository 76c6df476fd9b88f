import Diffusion
import Foundation
import Graphics
import Numerics
import TestSupport
import Testing

@testable import Inversion

/// The sd-tiny fixture with the clip-vision fixture as its image_encoder/, in a scratch folder.
func pipelineWithImageEncoder() throws -> URL {
    let folder = try Scratch.folder("gradti-pipeline")
    let source = fixture.appendingPathComponent("pipeline")
    for entry in try FileManager.default.contentsOfDirectory(atPath: source.path) {
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent(entry),
            withDestinationURL: source.appendingPathComponent(entry))
    }
    let encoder = fixture.deletingLastPathComponent().appendingPathComponent("clip-vision/image_encoder")
    try FileManager.default.createSymbolicLink(
        at: folder.appendingPathComponent("image_encoder"), withDestinationURL: encoder)
    return folder
}

func sessionWithImageEncoder() throws -> InversionSession {
    let s = InversionSession(pipeline: try StableDiffusionPipeline(folder: pipelineWithImageEncoder()))
    var settings = InversionSession.Settings()
    settings.batch = 2
    settings.seed = 5
    try s.configure(settings)
    try s.setConcept(name: "cat-toy", images: try conceptImages(3), initWord: "cat")
    s.similaritySettings.images = 3
    s.similaritySettings.steps = 4
    return s
}

@Suite struct ImageSimilarityTests {
    /// The mean over every generated x concept pair of the cosine of CLIP image embeddings; it
    /// changes nothing in the session and is the same when measured again.
    @Test func isTheMeanCosineOverAllPairs() throws {
        let s = try sessionWithImageEncoder()
        let before = s.vectors!.scalars
        let (value, images, text) = try s.imageSimilarity()
        #expect(text == nil, "no text_projection/: no CLIP-T")
        #expect(images.count == 3)
        let encoder = try #require(s.pipeline.imageEncoder)
        let generated = encoder.embed(images)
        let concept = encoder.embed(s.concept!.images)
        var cosines: [Double] = []
        for g in generated { for c in concept { cosines.append(Double(zip(g, c).map(*).reduce(0, +))) } }
        #expect(abs(value - cosines.reduce(0, +) / Double(cosines.count)) < 1e-6)
        #expect(Set(cosines.map { Int($0 * 1e6) }).count > 1, "the pairs should differ")
        #expect(try s.imageSimilarity().value == value)
        #expect(s.vectors!.scalars == before && s.stepCount == 0 && s.similarityHistory.isEmpty)
        try s.recordSimilarity()
        #expect(s.similarityHistory.count == 1 && s.similarityHistory[0].value == value)
    }

    @Test func needsAnImageEncoderAndPromptsWithAPlace() throws {
        let plain = try session()
        #expect { try plain.imageSimilarity() } throws: { String(describing: $0).contains("no image_encoder") }
        let s = try sessionWithImageEncoder()
        s.similaritySettings.prompts = ["a photo of a cat"]
        #expect { try s.imageSimilarity() } throws: { String(describing: $0).contains("{}") }
    }
}

@Suite struct ComparisonTests {
    /// A compared run is exactly a fresh run of that strategy from the same start and seed, and the
    /// session continues afterwards as if nothing had happened.
    @Test func runsAreFreshRunsAndTheSessionIsRestored() throws {
        let s = try session(vectors: 1, batch: 2, seed: 7)
        for _ in 0..<2 { try s.step() }
        let witness = try session(vectors: 1, batch: 2, seed: 7)
        for _ in 0..<2 { try witness.step() }
        let start = s.vectors!.scalars

        let comparison = try s.compare([.range(0, 1000), .single(400)], steps: 3, every: 2, seed: 11, similarity: false)
        #expect(comparison.runs.map(\.name) == ["uniform", "t400"])
        #expect(comparison.runs.allSatisfy { $0.evaluation.map(\.step) == [0, 2, 3] })
        #expect(
            comparison.runs[0].evaluation[0].loss == comparison.runs[1].evaluation[0].loss, "runs share their start")

        // The session is as it was: the next steps match the witness's.
        #expect(s.stepCount == 2 && s.history.count == 2 && s.vectors!.scalars == start)
        for _ in 0..<2 {
            let a = try s.step()
            let b = try witness.step()
            #expect(a.timesteps == b.timesteps && a.loss == b.loss)
        }
        #expect(s.vectors!.scalars == witness.vectors!.scalars)

        // The t400 run equals a fresh session that starts from the same vectors with seed 11.
        let fresh = try session(vectors: 1, batch: 2, seed: 7)
        for _ in 0..<2 { try fresh.step() }
        var settings = fresh.settings
        settings.seed = 11
        try fresh.configure(settings)
        try fresh.setStrategy(.single(400))
        fresh.startOver()  // fresh AdamW moments, generators from seed 11
        var timesteps: [Int] = []
        for _ in 0..<3 { timesteps += try fresh.step().timesteps }
        #expect(timesteps.allSatisfy { $0 == 400 })
        let kept = try #require(comparison.runs[1].kept)
        #expect(kept.name == "cat-toy-t400" && kept.vectors.scalars == fresh.vectors!.scalars)
        #expect(comparison.runs[0].kept!.vectors.scalars != kept.vectors.scalars)
    }

    /// Each run's embedding is kept under its own placeholder, which prompts can use.
    @Test func keptEmbeddingsAreUsableInPrompts() throws {
        let s = try session()
        let comparison = try s.compare([.range(0, 1000), .range(900, 1000)], steps: 2, every: 1, similarity: false)
        #expect(s.keptEmbeddings.map(\.placeholder) == ["<cat-toy-uniform>", "<cat-toy-900-1000>"])
        let a = try s.generate(prompt: "a photo of a <cat-toy-uniform>", count: 1, steps: 3, guidance: 5, seed: 1)
        let b = try s.generate(prompt: "a photo of a <cat-toy-900-1000>", count: 1, steps: 3, guidance: 5, seed: 1)
        #expect(a[0].pixels != b[0].pixels)
        #expect(comparison.runs[1].allowed == 900..<1000)
        // A second compare replaces runs of the same name rather than adding tokens.
        _ = try s.compare([.range(0, 1000)], steps: 1, every: 1, similarity: false)
        #expect(s.keptEmbeddings.count == 2)
    }

    @Test func measuresSimilarityWhenAsked() throws {
        let s = try sessionWithImageEncoder()
        let comparison = try s.compare(
            [.range(0, 1000), .adaptive(bins: 5, floor: 0.2, ema: 0.5)], steps: 2, every: 1, similarity: true)
        #expect(comparison.usesSimilarity && comparison.metricName == "CLIP image similarity")
        #expect(comparison.runs.allSatisfy { $0.similarity.count == 3 && $0.images.count == 3 })
        #expect(comparison.runs[0].similarity[0].value == comparison.runs[1].similarity[0].value)
        #expect(s.similarityHistory.isEmpty, "compare's measurements are its own")
    }

    @Test func badStrategiesSayWhatIsWrong() throws {
        let s = try session()
        #expect { try s.compare([.range(0, 1000), .range(0, 1000)], steps: 1, every: 1, similarity: false) } throws: {
            String(describing: $0).contains("once")
        }
        #expect { try s.compare([.highGrad(width: 100)], steps: 1, every: 1, similarity: false) } throws: {
            String(describing: $0).contains("profile")
        }
        #expect { try s.compare([.range(0, 1000)], steps: 1, every: 1, similarity: true) } throws: {
            String(describing: $0).contains("image_encoder")
        }
        #expect(throws: StrategyError.self) { try TimestepStrategy(shortName: "middle", trainSteps: 1000) }
    }

    @Test(arguments: ["uniform", "350-450", "t400", "adaptive", "highgrad", "tpeak"])
    func shortNamesRoundTrip(name: String) throws {
        #expect(try TimestepStrategy(shortName: name, trainSteps: 1000).shortName(trainSteps: 1000) == name)
    }

    @Test func tpeakTrainsOnTheProfilesHighestTimestep() throws {
        let profile = [(0, 0.1), (300, 0.5), (450, 0.9), (600, 0.7), (950, 0.05)].map { ProfilePoint(t: $0, mean: $1) }
        let sampler = try TimestepSampler(
            TimestepStrategy(shortName: "tpeak", trainSteps: 1000), trainSteps: 1000, profile: profile)
        #expect(sampler.allowed == 450..<451)
    }

    /// Steps to reach a share of the reference's change, for a rising and a falling metric.
    @Test func stepsToReachFollowTheReference() {
        func run(_ name: String, _ values: [Double]) -> ComparisonRun {
            var r = ComparisonRun(name: name, strategy: .range(0, 1000), allowed: 0..<1000)
            r.similarity = values.enumerated().map { (step: $0.offset * 10, value: $0.element) }
            return r
        }
        let rising = Comparison(
            runs: [run("uniform", [0.5, 0.6, 0.7, 0.9]), run("fast", [0.5, 0.88, 0.95, 0.95])], steps: 30, every: 10,
            seed: 0)
        #expect(rising.stepsToReach(0.5, run: rising.runs[0]) == 20)
        #expect(rising.stepsToReach(0.9, run: rising.runs[1]) == 10)
        #expect(rising.stepsToReach(1.0, run: rising.runs[1]) == 20)
        let slow = Comparison(
            runs: [run("uniform", [0.5, 0.6, 0.7, 0.9]), run("slow", [0.5, 0.5, 0.6, 0.65])], steps: 30, every: 10,
            seed: 0)
        #expect(slow.stepsToReach(0.9, run: slow.runs[1]) == nil)
        var lossRuns = [ComparisonRun(name: "uniform", strategy: .range(0, 1000), allowed: 0..<1000)]
        lossRuns[0].evaluation = [(0, 1.0), (10, 0.8), (20, 0.6)]
        let falling = Comparison(runs: lossRuns, steps: 20, every: 10, seed: 0)
        #expect(!falling.usesSimilarity && falling.stepsToReach(0.5, run: falling.runs[0]) == 10)
        // A reference that got worse sets no level to reach.
        let worse = Comparison(
            runs: [run("uniform", [0.5, 0.45, 0.4]), run("other", [0.5, 0.6, 0.7])], steps: 20, every: 10, seed: 0)
        #expect(worse.stepsToReach(0.5, run: worse.runs[1]) == nil)
    }
}

@Suite struct SimilarityHistoryFileTests {
    @Test func aSavedSessionKeepsItsSimilarityHistory() throws {
        let s = try sessionWithImageEncoder()
        try s.recordSimilarity()
        try s.step()
        try s.recordSimilarity()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-session-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try s.saveSession(to: file)
        let copy = InversionSession(pipeline: s.pipeline)
        try copy.loadSession(from: file)
        #expect(copy.similarityHistory.map(\.step) == [0, 1])
        #expect(zip(copy.similarityHistory, s.similarityHistory).allSatisfy { abs($0.value - $1.value) < 1e-6 })
    }
}

@Suite struct ChartTests {
    /// One measurement (e.g. `evaluate` before any step) still shows up on the chart.
    @Test func aLonePointIsMarked() {
        var chart = Chart(title: "t", xLabel: "x", yLabel: "y")
        chart.series = [Chart.Series(name: "", points: [(x: 0, y: 0.5)])]
        let image = chart.render(width: 200, height: 120)
        let (r, g, b) = Chart.palette[0]
        let plane = image.width * image.height
        let marked = (0..<plane).contains { i in
            abs(image.pixels[i] - r) < 0.02 && abs(image.pixels[plane + i] - g) < 0.02
                && abs(image.pixels[2 * plane + i] - b) < 0.02
        }
        #expect(marked)
    }
}
