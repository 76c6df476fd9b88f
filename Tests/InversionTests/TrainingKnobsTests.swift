import Foundation
import Numerics
import TestSupport
import Testing

@testable import Inversion

@Suite struct TrainingKnobsTests {
    /// The schedules' factors, against transformers' formulas (warm-up 10, horizon 110).
    @Test func schedulesFollowTransformers() {
        func f(_ s: LearningRateSchedule, _ step: Int) -> Double { s.factor(step: step, warmup: 10, horizon: 110) }
        #expect(f(.constant, 0) == 0 && f(.constant, 5) == 0.5 && f(.constant, 500) == 1)
        #expect(f(.linear, 10) == 1 && f(.linear, 60) == 0.5 && f(.linear, 110) == 0 && f(.linear, 200) == 0)
        #expect(f(.cosine, 10) == 1 && abs(f(.cosine, 60) - 0.5) < 1e-12 && abs(f(.cosine, 110)) < 1e-12)
        // Two cycles: back to 1 half-way through.
        #expect(abs(f(.cosineWithRestarts(cycles: 2), 60) - 1) < 1e-12 && f(.cosineWithRestarts(cycles: 2), 110) == 0)
        let end = LearningRateSchedule.polynomialEnd
        #expect(
            abs(f(.polynomial(power: 2), 60) - ((1 - end) * 0.25 + end)) < 1e-12 && f(.polynomial(power: 2), 300) == end
        )
    }

    @Test func knobsAreCheckedAndScaled() throws {
        var knobs = TrainingKnobs()
        knobs.schedule = .cosine
        #expect(throws: InversionError.self) { try knobs.validate() }  // no horizon
        knobs.horizon = 100
        try knobs.validate()
        knobs.scaleLR = true
        knobs.accumulate = 2
        #expect(knobs.learningRate(base: 1e-3, batch: 4, step: 0) == 8e-3)
        knobs.clipNorm = -1
        #expect(throws: InversionError.self) { try knobs.validate() }
    }

    /// Accumulating K batches is one step over all their timesteps; the rate follows the schedule;
    /// the knobs save and load. (Clipping is on here to run its path; AdamW's update barely depends on
    /// the gradient's scale, so its effect is not visible in the vectors.)
    @Test func accumulationClippingAndTheScheduleShapeTheStep() throws {
        let s = try session(batch: 1)
        var settings = s.settings
        settings.knobs.accumulate = 3
        settings.knobs.schedule = .linear
        settings.knobs.warmup = 2
        settings.knobs.horizon = 12
        settings.knobs.clipNorm = 1e-6
        try s.configure(settings)
        let before = s.vectors!.scalars
        let record = try s.step()
        #expect(record.timesteps.count == 3 && record.gradientNorms.count == 3)
        // Warm-up: the first step's rate is 0, so nothing moves (AdamW's decay is scaled by it too).
        #expect(s.vectors!.scalars == before)
        try s.step()
        #expect(abs(Double(s.optimizer!.learningRate) - 5e-3 * 0.5) < 1e-9)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-knobs-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try s.saveSession(to: url)
        let other = try session(batch: 1)
        try other.loadSession(from: url)
        #expect(other.settings.knobs == settings.knobs)
        // Min-SNR weighs the loss but never the measured norms.
        settings.knobs = TrainingKnobs()
        settings.knobs.minSNRGamma = 5
        try s.configure(settings)
        #expect(s.lossWeights([10, 900])?.count == 2 && s.lossWeights([10])![0] < 1)
    }
}
