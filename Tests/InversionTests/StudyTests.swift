import Diffusion
import Foundation
import Numerics
import TestSupport
import Testing

@testable import Inversion

/// A two-subject benchmark folder of coloured-square concepts.
func tinyBenchmark() throws -> URL {
    let folder = try Scratch.folder("gradti-benchmark")
    var subjects: [BenchmarkSubject] = []
    for slug in ["red-box", "blue-box"] {
        let sub = folder.appendingPathComponent(slug)
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let images = try conceptImages(2)
        for (i, url) in images.enumerated() {
            try FileManager.default.copyItem(at: url, to: sub.appendingPathComponent("\(i).png"))
        }
        subjects.append(
            BenchmarkSubject(
                slug: slug, codePoint: "", name: slug, initWord: "box", images: ["0.png", "1.png"],
                captions: ["", ""], prompts: ["a photo of a {}"]))
    }
    try BenchmarkFile.write(subjects, to: folder)
    return folder
}

@Suite struct StudyTests {
    let plan: StudyPlan = {
        var p = StudyPlan(
            subjects: ["red-box", "blue-box"], strategies: ["uniform", "t400", "highgrad"], steps: 2, every: 1,
            seeds: [0], batch: 1, similarityImages: 2, profileTimesteps: [100, 500, 900], profileSamples: 1)
        p.similaritySteps = 3
        return p
    }()

    @Test func runsEveryUnitAndResumesWhereItStopped() throws {
        let pipeline = try StableDiffusionPipeline(folder: pipelineWithImageEncoder())
        let benchmark = try tinyBenchmark()
        let results = benchmark.appendingPathComponent("results")
        // Stopped during the second unit: the first is kept.
        var ticks = 0
        #expect(throws: CancellationError.self) {
            _ = try Study.run(plan, benchmark: benchmark, pipeline: pipeline, results: results) { done, total, _ in
                ticks = done
                #expect(total == Study.ticks(plan))
                if done > Study.ticks(plan) / 2 + 1 { throw CancellationError() }
            }
        }
        let kept = try String(contentsOf: results.appendingPathComponent("results.jsonl"), encoding: .utf8).split(
            separator: "\n")
        #expect(kept.count == 1 && kept[0].contains("\"subject\":\"red-box\""))
        var resumedFrom: Int?
        let units = try Study.run(plan, benchmark: benchmark, pipeline: pipeline, results: results) { done, _, _ in
            resumedFrom = min(resumedFrom ?? done, done)
        }
        // Before: an Int.max start made this pass when the callback never ran.
        let resumed = try #require(resumedFrom, "the resumed run reported no progress")
        #expect(resumed > Study.ticks(plan) / 2 && resumed <= Study.ticks(plan), "the finished unit is not run again")
        #expect(units.map(\.subject) == ["red-box", "blue-box"] && ticks > 0)
        for unit in units {
            #expect(unit.runs.map(\.strategy) == ["uniform", "t400", "highgrad"])
            #expect(unit.runs.allSatisfy { $0.steps == [0, 1, 2] && $0.similarity.count == 3 && $0.loss.count == 3 })
            #expect(unit.runs[1].allowed == [400, 401] && unit.runs[2].allowed[1] - unit.runs[2].allowed[0] == 100)
            #expect(unit.profileBefore.t == [100, 500, 900] && unit.profileAfter.mean != unit.profileBefore.mean)
            // Every step's timesteps and both norms, each evaluation item's loss, and the profile's cost.
            #expect(unit.profileBefore.g == .norm && unit.mseProfileBefore?.g == .mse)
            #expect(unit.runs.allSatisfy { $0.timesteps?.count == 2 && $0.gNorm?.count == 2 && $0.gMSE?.count == 2 })
            #expect(unit.runs[1].timesteps == [[400], [400]])
            #expect(unit.runs.allSatisfy { $0.itemLosses?.count == 3 && $0.itemLosses?[0].count == 4 })
            #expect(unit.itemTimesteps.map { Set($0) } == [125, 375, 625, 875])
            #expect(unit.profileCost?.passes == 3 && (unit.profileCost?.seconds ?? 0) > 0)
            for run in unit.runs {
                let items = try #require(run.itemLosses)
                for (mean, losses) in zip(run.loss, items) {
                    #expect(abs(mean - losses.reduce(0, +) / 4) < 1e-6 * max(mean, 1))
                }
            }
            #expect(FileManager.default.fileExists(atPath: results.appendingPathComponent(unit.images ?? "none").path))
        }
        // Both definitions' profiles average over units, and the figure shows them side by side.
        let summary = StudySummary(units)
        #expect(summary.profileBefore.g == .norm && summary.mseProfileBefore?.t == [100, 500, 900])
        #expect(summary.profileChart(units: units, trainSteps: 1000).width > 0)
        // Nothing left to do: a third run only reads.
        var called = false
        _ = try Study.run(plan, benchmark: benchmark, pipeline: pipeline, results: results) { _, _, _ in called = true }
        #expect(!called)

        #expect(StudySummary.metrics(of: units) == [.similarity, .loss])
        for metric in StudySummary.metrics(of: units) {
            let summary = StudySummary(units, metric: metric)
            #expect(summary.metric == metric && summary.units == 2)
            #expect(
                summary.curves.map(\.strategy) == ["uniform", "t400", "highgrad"]
                    && summary.curves.allSatisfy { $0.mean.count == 3 })
            #expect(
                summary.rows[0].toGain.reached == summary.rows[0].toGain.of,
                "the reference reaches its own gain wherever it improved")
            #expect(summary.table().contains("t400") && summary.tableCSV().split(separator: "\n").count == 4)
        }
        let report = try Study.writeSummary(units, to: results, trainSteps: 1000)
        #expect(report.summaries.map(\.metric) == [.similarity, .loss] && report.curves.count == 2)
        for name in ["summary.csv", "curves.png", "summary-loss.csv", "curves-loss.png", "profile.png"] {
            #expect(FileManager.default.fileExists(atPath: results.appendingPathComponent(name).path), "\(name)")
        }
        // A study of one of the subjects, aimed at the same folder, shows that subject; the folder's
        // files and plan go on describing both.
        var one = plan
        one.subjects = ["blue-box"]
        let subset = try Study.run(one, benchmark: benchmark, pipeline: pipeline, results: results) { _, _, _ in }
        let shown = try Study.writeSummary(subset, to: results, trainSteps: 1000)
        #expect(subset.map(\.subject) == ["blue-box"] && shown.summaries[0].units == 1)
        let csv = try String(contentsOf: results.appendingPathComponent("summary.csv"), encoding: .utf8)
        #expect(csv == StudySummary(units, metric: .similarity).tableCSV())
        let saved = try JSONDecoder().decode(
            StudyPlan.self, from: Data(contentsOf: results.appendingPathComponent("plan.json")))
        #expect(saved.subjects == ["red-box", "blue-box"])
    }

    @Test func aFolderOfAnotherPlanIsRefusedOnceItHasResults() throws {
        let folder = try Scratch.folder("gradti-study")
        var other = plan
        other.steps = 3
        _ = try Study.load(folder, plan: plan)
        _ = try Study.load(folder, plan: other)  // no results yet: the plan may still change
        let profile = StudyUnit.Profile(t: [0], mean: [.nan], std: [.infinity], g: .norm)
        try Study.append(
            StudyUnit(
                subject: "red-box", seed: 0, runs: [], profileBefore: profile, profileAfter: profile, images: nil),
            to: folder)
        #expect { try Study.load(folder, plan: plan) } throws: {
            String(describing: $0).contains("other settings: steps 3 (this study: 2); give")
        }
        // A diverged unit (NaN, infinity) is kept, and a line cut short by a stop is dropped.
        let handle = try FileHandle(forWritingTo: folder.appendingPathComponent("results.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"subject\":\"blue".utf8))
        try handle.close()
        let units = try Study.load(folder, plan: other)
        #expect(units.count == 1 && units[0].profileBefore.mean[0].isNaN && units[0].profileBefore.std[0] == .infinity)
    }

    /// Caption files next to every image make the study train with captions; a folder of template runs
    /// (including those written before captions, whose plan has no `prompts`) is not mixed with them.
    @Test func aCaptionedBenchmarkTrainsWithCaptionsAndIsNotMixedWithTemplates() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixture.appendingPathComponent("pipeline"))
        let benchmark = try tinyBenchmark()
        let results = benchmark.appendingPathComponent("results")
        var short = plan
        (short.subjects, short.strategies, short.steps, short.profileTimesteps) = (["red-box"], ["uniform"], 1, [500])
        func savedPlan(_ folder: URL) throws -> StudyPlan {
            try JSONDecoder().decode(StudyPlan.self, from: Data(contentsOf: folder.appendingPathComponent("plan.json")))
        }
        _ = try Study.run(short, benchmark: benchmark, pipeline: pipeline, results: results) { _, _, _ in }
        let written = try savedPlan(results)
        #expect(written.prompts == "object")
        for name in ["0", "1"] {
            try "a {} on a red background".write(
                to: benchmark.appendingPathComponent("red-box/\(name).txt"), atomically: true, encoding: .utf8)
        }
        #expect {
            _ = try Study.run(short, benchmark: benchmark, pipeline: pipeline, results: results) { _, _, _ in }
        } throws: {
            String(describing: $0).contains("training prompts object (this study: captions)")
        }
        let captioned = benchmark.appendingPathComponent("captioned")
        _ = try Study.run(short, benchmark: benchmark, pipeline: pipeline, results: captioned) { _, _, _ in }
        let captionedPlan = try savedPlan(captioned)
        #expect(captionedPlan.prompts == "captions")

        var old =
            try JSONSerialization.jsonObject(with: Data(contentsOf: results.appendingPathComponent("plan.json")))
            as! [String: Any]
        old["prompts"] = nil
        let decoded = try JSONDecoder().decode(StudyPlan.self, from: JSONSerialization.data(withJSONObject: old))
        let first = try savedPlan(results)
        #expect(decoded.prompts == nil && decoded.differences(from: first).isEmpty)
    }

    @Test func aBenchmarkOfOnesOwnNeedsFourKeysAndIsChecked() throws {
        let folder = try tinyBenchmark()
        func write(_ json: String) throws {
            try json.write(to: folder.appendingPathComponent("subjects.json"), atomically: true, encoding: .utf8)
        }
        try write(
            #"[{"slug": "red-box", "initWord": "box", "images": ["0.png", "1.png"], "prompts": ["a photo of a {}"]}]"#)
        let subjects = try BenchmarkFile.read(folder)
        #expect(
            subjects.count == 1 && subjects[0].name == "red-box" && subjects[0].captions.isEmpty
                && subjects[0].codePoint == "")
        try write(
            #"[{"slug": "red-box", "initWord": "box", "images": ["0.png", "7.png"], "prompts": ["a photo of a {}"]}]"#)
        #expect { try BenchmarkFile.read(folder) } throws: {
            String(describing: $0).contains("red-box/7.png is missing")
        }
        try write(#"[{"slug": "red-box", "initWord": "box", "images": ["0.png"], "prompts": ["a photo"]}]"#)
        #expect { try BenchmarkFile.read(folder) } throws: { String(describing: $0).contains("{} for the placeholder") }
        try write(#"[{"slug": "red-box", "images": ["0.png"], "prompts": ["a {}"]}]"#)
        #expect { try BenchmarkFile.read(folder) } throws: { String(describing: $0).contains("initWord") }
    }

    @Test func badPlansAreRefusedBeforeAnythingIsWritten() throws {
        var bad = plan
        bad.strategies = ["uniform", "900-2000"]
        #expect { try bad.validate(trainSteps: 1000) } throws: { String(describing: $0).contains("900-2000") }
        bad.strategies = ["t400", "t400"]
        #expect { try bad.validate(trainSteps: 1000) } throws: { String(describing: $0).contains("once") }
        bad = plan
        bad.profileTimesteps = [1000]
        #expect { try bad.validate(trainSteps: 1000) } throws: { String(describing: $0).contains("outside") }
    }

    @Test func summaryCountsStepsToReachTheReference() {
        func unit(_ curves: [String: [Double]]) -> StudyUnit {
            let profile = StudyUnit.Profile(t: [0], mean: [1], std: [0], g: .norm)
            return StudyUnit(
                subject: "s", seed: 0,
                runs: ["uniform", "fast"].map { name in
                    StudyUnit.Run(
                        strategy: name, allowed: [0, 1000], steps: [0, 10, 20, 30], similarity: curves[name]!,
                        loss: [1, 1, 1, 1],
                        secondsPerStep: 0.1)
                }, profileBefore: profile, profileAfter: profile, images: nil)
        }
        let summary = StudySummary([unit(["uniform": [0.5, 0.6, 0.7, 0.8], "fast": [0.5, 0.75, 0.8, 0.8]])])
        // 90% of uniform's final 0.8 is 0.72: uniform at 30, fast at 10. 90% of its gain (0.77): uniform 30, fast 20.
        #expect(summary.rows[0].toFinal.median == 30 && summary.rows[1].toFinal.median == 10)
        #expect(summary.rows[0].toGain.median == 30 && summary.rows[1].toGain.median == 20)
        #expect(abs(summary.rows[1].gain - 0.3) < 1e-12)
        #expect(summary.rows[1].toFinal.of == 1 && summary.rows[1].toFinal.reached == 1)
        // One unit: the mean curves are its curves.
        #expect(summary.rows[0].meanCurveToGain == 30 && summary.rows[1].meanCurveToGain == 20)
        #expect(abs((summary.rows[1].meanCurveSeconds ?? 0) - 2) < 1e-12)
        // Paired with uniform: both end at 0.8, so no difference and not better.
        #expect(summary.rows[1].versusReference.difference == 0 && summary.rows[1].versusReference.better == 0)
    }

    /// Units that never reach a level are censored, not dropped: with most never reaching it there is
    /// no median, and the restricted mean counts them at the horizon. Differences are by subject, with
    /// an interval and Holm-adjusted p-values.
    @Test func summaryCensorsAndComparesBySubject() throws {
        let profile = StudyUnit.Profile(t: [0], mean: [1], std: [0], g: .norm)
        func unit(_ subject: String, seed: UInt64, slow: [Double], fast: [Double]) -> StudyUnit {
            StudyUnit(
                subject: subject, seed: seed,
                runs: [("uniform", [0.5, 0.6, 0.7, 0.8]), ("slow", slow), ("fast", fast)].map { name, values in
                    StudyUnit.Run(
                        strategy: name, allowed: [0, 1000], steps: [0, 10, 20, 30], similarity: values,
                        loss: [1, 1, 1, 1], secondsPerStep: 0.1)
                }, profileBefore: profile, profileAfter: profile, images: nil)
        }
        let never = [0.5, 0.55, 0.6, 0.65]
        let units = [
            unit("a", seed: 0, slow: never, fast: [0.5, 0.8, 0.85, 0.9]),
            unit("a", seed: 1, slow: never, fast: [0.5, 0.8, 0.85, 0.9]),
            unit("b", seed: 0, slow: [0.5, 0.6, 0.7, 0.8], fast: [0.5, 0.8, 0.85, 0.9]),
            unit("c", seed: 0, slow: never, fast: [0.5, 0.8, 0.85, 0.9])
        ]
        let summary = StudySummary(units)
        let slow = summary.rows[1]
        #expect(slow.toGain.reached == 1 && slow.toGain.of == 4 && slow.toGain.median == nil)
        // Kaplan-Meier: one of 4 reaches at 30, the horizon: area 30.
        #expect(slow.toGain.restrictedMean == 30)
        let fast = try #require(summary.rows[2].paired)
        #expect(fast.subjects == 3 && abs(fast.mean - 0.1) < 1e-12 && fast.low > 0)
        #expect(summary.rows[0].paired == nil && summary.rows[0].adjustedP == nil)
        let p = [slow.paired!.p, fast.p]
        #expect(zip([slow.adjustedP!, summary.rows[2].adjustedP!], PairedStatistics.holm(p)).allSatisfy { $0 == $1 })
        #expect(summary.table().contains("1/4, no median") && summary.tableCSV().contains("p_holm"))
        #expect(summary.rows.allSatisfy { $0.profileSeconds == 0 })
        #expect(StudySummary.usesConceptProfile("adaptive") && StudySummary.usesConceptProfile("tpeak"))
        #expect(!StudySummary.usesConceptProfile("highgrad-model") && !StudySummary.usesConceptProfile("350-450"))
    }

    @Test func aReferenceThatGotWorseSetsNoLevelToReach() {
        let profile = StudyUnit.Profile(t: [0], mean: [1], std: [0], g: .norm)
        func run(_ name: String, _ similarity: [Double], _ loss: [Double]) -> StudyUnit.Run {
            StudyUnit.Run(
                strategy: name, allowed: [0, 1000], steps: [0, 10, 20], similarity: similarity, loss: loss,
                secondsPerStep: 0.1)
        }
        // Uniform's similarity falls (a level "90% of the way" would be met at step 0) while its loss falls too.
        let unit = StudyUnit(
            subject: "s", seed: 0,
            runs: [
                run("uniform", [0.3, 0.2, 0.1], [0.5, 0.4, 0.3]),
                run("t400", [0.3, 0.35, 0.4], [0.5, 0.3, 0.3])
            ],
            profileBefore: profile, profileAfter: profile, images: nil)
        let similarity = StudySummary([unit])
        #expect(similarity.metric == .similarity)
        #expect(
            similarity.rows.allSatisfy { $0.toFinal.of == 0 && $0.toFinal.median == nil && $0.toGain.median == nil })
        #expect(similarity.table().contains(" - ") && similarity.rows.allSatisfy { $0.meanCurveToGain == nil })
        // The loss improved: 90% of uniform's drop (to 0.32) is reached by t400 at step 10.
        let loss = StudySummary([unit], metric: .loss)
        #expect(loss.rows[1].toGain.median == 10 && loss.rows[1].toGain.of == 1 && abs(loss.rows[1].gain + 0.2) < 1e-12)
        // t400 ends better than uniform on both measures: higher similarity, lower loss (0.3 = 0.3 is a tie).
        #expect(
            similarity.rows[1].versusReference.better == 1
                && abs(similarity.rows[1].versusReference.difference - 0.3) < 1e-12)
        #expect(loss.rows[1].versusReference.better == 0 && loss.rows[1].versusReference.difference == 0)
    }
}

/// The lists the kernel's `study` and `gradti study` share.
@Suite struct StudyListsTests {
    let available = ["red-box", "blue-box"]

    @Test func allOrNoneMeansEverySubject() throws {
        for subjects in [[], ["all"]] {
            let lists = try StudyPlan.lists(
                subjects: subjects, strategies: "uniform, t400", seeds: "0,1", available: available, trainSteps: 1000)
            #expect(lists.subjects == available && lists.strategies == ["uniform", "t400"] && lists.seeds == [0, 1])
        }
    }

    @Test func badListsAreErrorsThatSayWhy() {
        func message(_ subjects: [String], _ strategies: String, _ seeds: String) -> String {
            do {
                _ = try StudyPlan.lists(
                    subjects: subjects, strategies: strategies, seeds: seeds, available: available, trainSteps: 1000)
                return ""
            } catch { return String(describing: error) }
        }
        #expect(message(["green-box"], "uniform", "0").contains("no subject green-box"))
        #expect(message([], "uniform", "0,x").contains("seeds=0,x"))
        #expect(message([], "uniform", "").contains("seeds="))
        #expect(!message([], "sideways", "0").isEmpty)
    }
}
