import Foundation
import Testing

@testable import Inversion

/// `train`: the step loop with measurements and DVAR that `step` used to hold in the kernel.
@Suite struct TrainingRunTests {
    @Test func trainsMeasuresAndReportsEachStep() throws {
        let s = try session()
        var notes: [(Int, String)] = []
        let summary = try s.train(TrainingPlan(steps: 4, measureEvery: 2), poll: {}) { notes.append(($0, $1)) }
        #expect(summary.steps == 4 && !summary.stoppedEarly && s.stepCount == 4)
        #expect(notes.map(\.0) == [1, 2, 3, 4])
        #expect(notes[1].1.contains("eval") && !notes[0].1.contains("eval"))
        // Measured before the first step and at steps 2 and 4.
        #expect(s.evaluationHistory.map(\.step) == [0, 2, 4])
        #expect(summary.meanLoss.isFinite && summary.meanLoss > 0 && summary.secondsPerStep > 0)
    }

    @Test func dvarStopsOnceTheEvaluationLossHasSettled() throws {
        let s = try session()
        // eps = 1: any window's variance is below the whole history's, so it stops at the first
        // measurement with a full window.
        let summary = try s.train(TrainingPlan(steps: 50, measureEvery: 1, dvar: (window: 2, eps: 1)), poll: {}) {
            _, _ in
        }
        #expect(summary.stoppedEarly && summary.steps < 50 && s.stepCount == summary.steps)
    }

    @Test func anInterruptKeepsOnlyWholeSteps() throws {
        let s = try session()
        var polls = 0
        #expect(throws: CancellationError.self) {
            _ = try s.train(
                TrainingPlan(steps: 10),
                poll: {
                    polls += 1
                    if polls > 5 { throw CancellationError() }
                }
            ) { _, _ in }
        }
        #expect(s.stepCount == s.history.count && s.stepCount < 10)
    }

    @Test func metricsCSVHasOneRowPerStep() throws {
        let s = try session(vectors: 2)
        _ = try s.train(TrainingPlan(steps: 3), poll: {}) { _, _ in }
        let rows = s.metricsCSV().split(separator: "\n")
        #expect(rows.first == "step,loss,timesteps,g_norm,g_mse,seconds" && rows.count == 4)
        #expect(rows[1].hasPrefix("1,") && rows[1].split(separator: ",").count == 6)
        #expect(s.lossChart() != nil && s.timestepChart() != nil && s.similarityChart() == nil)
        #expect(s.profileChart(.norm) == nil && s.profileChart(nil) == nil)
    }
}
