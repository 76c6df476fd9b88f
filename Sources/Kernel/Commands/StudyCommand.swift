import Foundation
import Graphics
import Inversion
import Jupyter
import Numerics

/// The paper's study over a benchmark's subjects.
enum StudyCommand {
    static let defaultStrategies = StudyPlan.paperStrategies.joined(separator: ",")

    static let study = CommandSpec(
        "study",
        summary: "Run every strategy on benchmark subjects with the same seeds and aggregate (the paper's study).",
        details:
            "For each subject and seed: a concept from the benchmark's images and init word, g(t) profiled, every "
            + "strategy trained from the same start (as `compare`), CLIP image similarity (or the evaluation loss "
            + "without an image encoder) every K steps on the subject's prompts, g(t) profiled again with the "
            + "first strategy's result. Results go to the results folder (results.jsonl, one line per "
            + "finished subject and seed, so a stopped study resumes; summary.csv, curves.csv, "
            + "curves.png for similarity and the same with -loss for the evaluation loss, always of "
            + "every subject and seed in the folder; profile.png; images/). Shows, for the "
            + "subjects asked, the averaged g(t) before and after, and for each metric the "
            + "mean curves and the table (final value, gain, steps to reach 90% of the "
            + "first strategy's final value and of its gain), then one subject's "
            + "generations per strategy. The optimizer's batch and lr apply, "
            + "and `evaluate`'s images, steps, cfg and evaluator for similarity.",
        arguments: [ArgumentSpec("SUBJECT", .text, count: .any, help: "benchmark subjects (slugs); all when none")],
        options: [
            OptionSpec(
                "strategies", .text, default: defaultStrategies,
                help:
                    "comma-separated: uniform, A-B, tT, adaptive, highgrad, tpeak (-mse, -jacobian; -model), as in "
                    + "compare"
            ),
            OptionSpec("steps", .integer(1...1_000_000), default: "300", help: "steps per strategy"),
            OptionSpec("every", .integer(1...1_000_000), default: "25", help: "measure every K steps"),
            OptionSpec("seeds", .text, default: "0", help: "comma-separated seeds"),
            OptionSpec(
                "benchmark", .path(extensions: []), note: "data/emoji-benchmark (searched upwards)",
                help: "a benchmark folder: subjects.json (gradti's) or google/dreambooth's dataset/ as downloaded"),
            OptionSpec(
                "results", .path(extensions: []), note: "study/ in the output folder, outputs/",
                help: "the results folder")
        ],
        examples: [
            "study dog cat steps=300 every=25", "study strategies=uniform,350-450,adaptive seeds=0,1",
            "study dog steps=20 every=5 strategies=uniform,t400"
        ]
    ) { call, context in
        let workspace = context.workspace
        let session = try workspace.requireSession()
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        guard
            let benchmark = call.givenOption("benchmark").map(resolvePath)
                ?? BenchmarkFile.locateDefault(from: cwd)
        else {
            throw CommandError("no benchmark found (data/emoji-benchmark in this folder or above): give benchmark=PATH")
        }
        let (subjects, strategies, seeds) = try StudyPlan.lists(
            subjects: call.values("SUBJECT"), strategies: try call.option("strategies"),
            seeds: try call.option("seeds"),
            available: try BenchmarkFile.read(benchmark).map(\.slug), trainSteps: session.pipeline.schedule.trainSteps)
        var plan = StudyPlan(
            subjects: subjects, strategies: strategies, steps: try call.int("steps"), every: try call.int("every"),
            seeds: seeds, batch: session.settings.batch, learningRate: session.settings.learningRate,
            similarityImages: session.similaritySettings.images)
        plan.similaritySteps = session.similaritySettings.steps
        plan.similarityGuidance = session.similaritySettings.guidance
        let folder =
            call.givenOption("results").map(resolvePath)
            ?? workspace.outputFolder.appendingPathComponent("study")
        let units = try context.withProgress(
            "study", total: Study.ticks(plan),
            interrupted: {
                "study interrupted; finished subjects are kept in \(displayPath(folder)) and a rerun resumes"
            }
        ) { progress in
            let units = try Study.run(
                plan, benchmark: benchmark, pipeline: session.pipeline, results: folder,
                modelProfile: session.modelProfile, evaluator: session.chosenEvaluator,
                shouldStop: { try context.checkCancellation() }
            ) { done, _, note in
                progress.update(done, note: note)
                try context.checkCancellation()
            }
            progress.finish("\(units.count) subject-seed unit(s) in \(displayPath(folder))")
            return units
        }
        let report: Study.Report
        report = try Study.writeSummary(units, to: folder, trainSteps: session.pipeline.schedule.trainSteps)
        try SessionCommands.showImage(report.profile, name: "study-profile", context: context)
        for (summary, curves) in zip(report.summaries, report.curves) {
            try SessionCommands.showImage(curves, name: "study-curves-\(summary.metric.rawValue)", context: context)
            context.io.stream(summary.table() + "\n\n")
        }
        if let line = Study.modelProfileLine(session.modelProfile, strategies: plan.strategies) {
            context.io.stream(line + "\n")
        }
        if let grid = units.first?.images, let image = try? Image.read(folder.appendingPathComponent(grid)) {
            try SessionCommands.showImage(image, name: "study-images-\(units[0].subject)", context: context)
        }
    }
}
