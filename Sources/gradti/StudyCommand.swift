import ArgumentParser
import Diffusion
import Foundation
import Inversion
import Kernel

/// `gradti study`: the kernel's `study` without a kernel, for long runs by hand (nohup-able).
struct StudyCLICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Run every strategy on benchmark subjects and aggregate (resumable); writes CSVs and figures.")

    @Option(
        help: "A pipeline folder (with an image_encoder/ for CLIP image similarity); the embedded model by default.")
    var model: String?
    @Option(help: "diffusers' weight variant of the model, e.g. fp16, where a component has it.") var variant: String?
    @Option(
        help: ArgumentHelp(
            "The benchmark folder: subjects.json (gradti's) or google/dreambooth's dataset/ folder as downloaded "
                + "(prompts_and_classes.txt); data/emoji-benchmark here or above by default."))
    var benchmark: String?
    @Option(help: "The results folder.") var results = "outputs/study"
    @Option(help: "Comma-separated subjects, or all.") var subjects = "all"
    @Option(help: "Comma-separated strategies.") var strategies = StudyPlan.paperStrategies.joined(separator: ",")
    @Option(help: "Steps per strategy.") var steps = 300
    @Option(help: "Measure every K steps.") var every = 25
    @Option(help: "Comma-separated seeds.") var seeds = "0"
    @Option(help: "Images per step.") var batch = 1
    @Option(help: "Learning rate.") var lr: Float = 5e-3
    @Option(help: "Generations per similarity measurement.") var images = 8
    @Option(help: "DDIM steps of each similarity generation.") var similaritySteps = 20
    @Option(help: "Guidance scale of the similarity generations.") var cfg: Float = 5
    @Option(
        help: ArgumentHelp(
            "A CLIPModel folder (transformers' layout, e.g. openai/clip-vit-large-patch14) to measure similarity "
                + "with; the pipeline's image_encoder/ by default."))
    var evaluator: String?

    func run() throws {
        let pipeline = try StableDiffusionPipeline(
            folder: model.map { URL(fileURLWithPath: $0) } ?? Installation.defaultModelFolder(), variant: variant)
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        guard let benchmarkURL = benchmark.map({ URL(fileURLWithPath: $0) }) ?? BenchmarkFile.locateDefault(from: cwd)
        else {
            throw ValidationError("no data/emoji-benchmark here or above: give --benchmark")
        }
        let folder = URL(fileURLWithPath: results)
        let (chosen, strategyList, seedList) = try StudyPlan.lists(
            subjects: subjects.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
            strategies: strategies, seeds: seeds, available: try BenchmarkFile.read(benchmarkURL).map(\.slug),
            trainSteps: pipeline.schedule.trainSteps)
        var plan = StudyPlan(
            subjects: chosen, strategies: strategyList, steps: steps, every: every, seeds: seedList, batch: batch,
            learningRate: lr, similarityImages: images)
        plan.similaritySteps = similaritySteps
        plan.similarityGuidance = cfg
        var last = Date.distantPast
        // The model's own profile (`profile model save=model`), for the highgrad-model strategies.
        let modelProfile = try ModelProfile.stored(in: pipeline.folder)
        let units = try Study.run(
            plan, benchmark: benchmarkURL, pipeline: pipeline, results: folder, modelProfile: modelProfile,
            evaluator: try evaluator.map { try CLIPEvaluator(clipModelFolder: URL(fileURLWithPath: $0)) }
        ) { done, total, note in
            if Date().timeIntervalSince(last) > 10 {
                last = Date()
                FileHandle.standardOutput.write(
                    Data(String(format: "%5.1f%%  %@\n", 100 * Double(done) / Double(total), note).utf8))
            }
        }
        let report = try Study.writeSummary(units, to: folder, trainSteps: pipeline.schedule.trainSteps)
        print(report.summaries.map { $0.table() }.joined(separator: "\n\n"))
        if let line = Study.modelProfileLine(modelProfile, strategies: strategyList) { print(line) }
        print(
            "wrote the summaries of every unit in \(folder.path) (summary*.csv, curves*.csv, curves*.png) and "
                + "profile.png"
        )
    }
}
