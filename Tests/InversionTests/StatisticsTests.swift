import Foundation
import Testing

@testable import Inversion

@Suite struct StatisticsTests {
    /// Subjects are the resampled unit: a subject with many seeds weighs as one.
    @Test func pairedDifferencesResampleSubjects() throws {
        let interval = try #require(PairedStatistics.compare([[1, 1, 1, 1], [3], [2]], resamples: 4000))
        #expect(interval.mean == 2 && interval.subjects == 3)
        #expect(interval.low >= 1 && interval.high <= 3 && interval.low < 2 && interval.high > 2)
        // Three subjects, all positive: the exact sign-flip p is 2/8.
        #expect(abs(interval.p - 0.25) < 1e-12)
        #expect(PairedStatistics.compare([[], [.nan]]) == nil)
    }

    @Test func aClearEffectOverManySubjectsHasASmallPAndAnIntervalAwayFromZero() throws {
        let differences = (0..<30).map { [0.05 + 0.01 * sin(Double($0))] }
        let interval = try #require(PairedStatistics.compare(differences, resamples: 2000))
        #expect(interval.low > 0 && interval.p < 0.01)
        let null = (0..<30).map { [$0 % 2 == 0 ? 0.1 : -0.1] }
        #expect(try #require(PairedStatistics.compare(null, resamples: 2000)).p > 0.5)
    }

    @Test func holmAdjustsInRankOrder() {
        let adjusted = PairedStatistics.holm([0.01, 0.04, 0.03, 0.5])
        #expect(adjusted == [0.04, 0.09, 0.09, 0.5])
        #expect(PairedStatistics.holm([0.4, 0.4]) == [0.8, 0.8])
        #expect(PairedStatistics.holm([]) == [])
    }

    /// Kaplan–Meier with censoring, against a hand computation.
    @Test func kaplanMeierMedianAndRestrictedMean() {
        typealias O = Survival.Observation
        let observations = [
            O(time: 25, reached: true), O(time: 50, reached: true), O(time: 300, reached: false),
            O(time: 75, reached: true), O(time: 300, reached: false)
        ]
        // At 25: 4/5; at 50: 4/5·3/4 = 3/5; at 75: 3/5·2/3 = 2/5 (median).
        let curve = Survival.kaplanMeier(observations)
        #expect(curve.map(\.time) == [25, 50, 75])
        #expect(zip(curve.map(\.survival), [0.8, 0.6, 0.4]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(Survival.median(observations) == 75)
        // Area: 25·1 + 25·0.8 + 25·0.6 + 225·0.4 = 150.
        #expect(abs(Survival.restrictedMean(observations, horizon: 300) - 150) < 1e-9)
        // Most never reached: no median (never an average over those that did).
        #expect(
            Survival.median([O(time: 10, reached: true), O(time: 300, reached: false), O(time: 300, reached: false)])
                == nil)
    }
}
