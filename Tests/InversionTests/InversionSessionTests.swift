import Diffusion
import Foundation
import Graphics
import Numerics
import TestSupport
import Testing

@testable import Inversion

let fixture = Fixtures.sdTinyFolder

/// Concept images written to a scratch folder: coloured squares on a background, 24x20 (not the
/// model's 16x16, so preparation is exercised).
func conceptImages(_ count: Int) throws -> [URL] {
    let folder = try Scratch.folder("gradti-concept")
    return try (0..<count).map { i in
        var image = Image(width: 24, height: 20)
        for y in 0..<20 {
            for x in 0..<24 {
                let inside = abs(x - 8 - 3 * i) < 5 && abs(y - 10) < 5
                image.pixels[y * 24 + x] = inside ? 0.9 : 0.2
                image.pixels[480 + y * 24 + x] = inside ? 0.3 : 0.5
                image.pixels[960 + y * 24 + x] = inside ? 0.1 : 0.8
            }
        }
        let url = folder.appendingPathComponent("\(i).png")
        try image.writePNG(to: url)
        return url
    }
}

func session(vectors: Int = 1, batch: Int = 2, seed: UInt64 = 3) throws -> InversionSession {
    let s = InversionSession(pipeline: try StableDiffusionPipeline(folder: fixture.appendingPathComponent("pipeline")))
    var settings = InversionSession.Settings()
    settings.batch = batch
    settings.seed = seed
    try s.configure(settings)
    try s.setConcept(name: "cat-toy", images: try conceptImages(3), initWord: "cat", vectors: vectors)
    return s
}

@Suite struct InversionSessionTests {
    @Test func onlyThePlaceholderVectorsChange() throws {
        let s = try session(vectors: 2)
        let text = s.pipeline.textEncoder
        let vocabulary = IndexTensor(Array(0..<text.vocabularySize), shape: [1, text.vocabularySize])
        let table = text.tokenEmbeddings(vocabulary).scalars
        let start = s.vectors!.scalars
        for _ in 0..<3 { try s.step() }
        #expect(text.tokenEmbeddings(vocabulary).scalars == table, "a vocabulary row changed")
        #expect(s.vectors!.scalars != start)
        #expect(s.stepCount == 3 && s.history.count == 3)
        #expect(
            s.history.allSatisfy {
                $0.loss.isFinite && $0.gradientNorms.count == 2
                    && $0.gradientNorms.allSatisfy { $0.norm > 0 && $0.mse > 0 }
            })
        #expect(s.concept!.tokens == ["<cat-toy>", "<cat-toy>_1"])
    }

    /// The vectors' gradient is the fixture's token-embedding gradient summed over the positions the
    /// placeholder takes (here: where "cat" stood, with the placeholder starting as "cat").
    @Test func gradientMatchesTheFixture() throws {
        let s = try session(vectors: 1)
        let reference = try SafeTensorsFile(fixture.appendingPathComponent("reference.safetensors"))
        let ids = try reference.indices("text.input_ids")
        let cat = 2368
        let placeholder = s.concept!.tokenIDs[0]
        let positions = ids.values.indices.filter { ids.values[$0] == cat }
        #expect(!positions.isEmpty)
        let swapped = IndexTensor(ids.values.map { $0 == cat ? placeholder : $0 }, shape: ids.shape)
        _ = try s.lossAndGradients(
            ids: swapped, sample: try reference.tensor("unet.sample"),
            timesteps: try reference.indices("unet.timestep").values, target: try reference.tensor("unet.target"))
        let grads = try reference.doubles("grad.token_embeddings")
        let d = 32
        let expected = (0..<d).map { j in positions.map { grads[$0 * d + j] }.reduce(0, +) }
        let ours = s.vectors!.grad!.scalars.map(Double.init)
        let error =
            zip(ours, expected).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            / expected.map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(error < 1e-3, "relative error \(error)")
    }

    @Test func anInterruptedStepChangesNothing() throws {
        let a = try session()
        let b = try session()
        struct Stop: Error {}
        let before = a.vectors!.scalars
        #expect(throws: Stop.self) { try a.step(shouldStop: { throw Stop() }) }
        #expect(a.vectors!.scalars == before && a.stepCount == 0 && a.history.isEmpty && a.vectors!.grad == nil)
        // The interrupted step left no trace: the next step is the first step of an untouched session.
        let next = try a.step()
        let fresh = try b.step()
        #expect(next.loss == fresh.loss && next.timesteps == fresh.timesteps)
        #expect(a.vectors!.scalars == b.vectors!.scalars)
    }

    @Test func profileMeasuresWithoutChangingAnything() throws {
        let s = try session()
        let before = s.vectors!.scalars
        let measured = try s.profile(timesteps: [50, 400, 900], samples: 3)
        let points = try #require(measured[.norm])
        #expect(measured[.mse]?.map(\.t) == [50, 400, 900])
        #expect(points.map(\.t) == [50, 400, 900])
        #expect(points.allSatisfy { $0.mean > 0 && $0.std >= 0 })
        #expect(s.vectors!.scalars == before && s.stepCount == 0)
        // Same seed, same profile.
        #expect(try s.profile(timesteps: [50, 400, 900], samples: 3)[.norm]?.map(\.mean) == points.map(\.mean))
    }

    @Test func evaluationLossIsFixedAndDvarStops() throws {
        let s = try session()
        let first = try s.evaluationLoss()
        #expect(try s.evaluationLoss() == first, "the evaluation items must not change between calls")
        try s.step()
        let after = try s.recordEvaluation()
        #expect(after != first)
        #expect(!s.dvarSaysStop(window: 5, eps: 0.15))
        // A settled history (a decay then a plateau) makes DVAR stop; a falling one does not.
        #expect(DVAR.settled((0..<40).map { 1 + exp(-Double($0) / 3) }, window: 10, eps: 0.15))
        #expect(
            !DVAR.settled((0..<40).map { 2 - Double($0) / 40 }, window: 30, eps: 0.15),
            "still falling across the window")
        #expect(!DVAR.settled([1, 1, 1], window: 10, eps: 0.15), "too short a history never stops")
    }

    @Test func badInputsSayWhatIsWrong() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixture.appendingPathComponent("pipeline"))
        let s = InversionSession(pipeline: pipeline)
        #expect { try s.step() } throws: { String(describing: $0).contains("no concept") }
        #expect { try s.setConcept(name: "x", images: [], initWord: "cat") } throws: {
            String(describing: $0).contains("needs images")
        }
        #expect {
            try s.setConcept(name: "x", images: [URL(fileURLWithPath: "/nonexistent.png")], initWord: "cat")
        } throws: { String(describing: $0).contains("/nonexistent.png") }
        #expect {
            try s.setConcept(name: "y", images: try conceptImages(1), initWord: "supercalifragilistic")
        } throws: { String(describing: $0).contains("tokens for 1 vector") }
        #expect { try s.setStrategy(.single(1000)) } throws: { String(describing: $0).contains("outside") }
        #expect { try s.setStrategy(.highGrad(width: 100)) } throws: { String(describing: $0).contains("profile") }
        var settings = InversionSession.Settings()
        settings.batch = 0
        #expect { try s.configure(settings) } throws: { String(describing: $0).contains("batch") }
    }
}

@Suite struct SessionFileTests {
    /// Save after 3 steps, then 3 more steps in the original and in a freshly loaded copy: identical.
    @Test(arguments: [
        TimestepStrategy.range(100, 600), .adaptive(bins: 10, floor: 0.2, ema: 0.3), .highGrad(width: 200)
    ])
    func aLoadedSessionContinuesExactly(strategy: TimestepStrategy) throws {
        let original = try session(vectors: 2)
        let profile = (0..<10).map { ProfilePoint(t: $0 * 100 + 50, mean: Double($0 % 4) + 1) }
        try original.setStrategy(strategy, profile: profile)
        for _ in 0..<3 { try original.step() }
        _ = try original.recordEvaluation()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-session-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try original.saveSession(to: file)

        let copy = InversionSession(
            pipeline: try StableDiffusionPipeline(folder: fixture.appendingPathComponent("pipeline")))
        try copy.loadSession(from: file)
        #expect(copy.stepCount == 3 && copy.history.count == 3 && copy.evaluationHistory.count == 1)
        #expect(copy.sampler.allowed == original.sampler.allowed)
        #expect(copy.concept?.tokens == original.concept?.tokens)
        for _ in 0..<3 {
            let a = try original.step()
            let b = try copy.step()
            #expect(a.timesteps == b.timesteps && a.loss == b.loss)
        }
        #expect(copy.vectors!.scalars == original.vectors!.scalars)
    }

    @Test func notASessionFile() throws {
        let s = try session()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "gradti-embedding-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try s.saveEmbedding(to: file)
        #expect { try s.loadSession(from: file) } throws: {
            String(describing: $0).contains("not a gradti session file")
        }
    }

    @Test func rerunningAConceptCellReusesItsTokens() throws {
        let s = try session()
        let ids = s.concept!.tokenIDs
        try s.setConcept(name: "cat-toy", images: try conceptImages(2), initWord: "cat")
        #expect(s.concept!.tokenIDs == ids)
    }
}
