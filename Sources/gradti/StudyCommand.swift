import ArgumentParser
import Diffusion
import Foundation
import Inversion

/// `gradti study`: the kernel's `study` without a kernel, for long runs by hand (nohup-able).
struct StudyCLICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study", abstract: "Run every strategy on benchmark subjects and aggregate (resumable); writes CSVs and figures.")

    @Option(help: "A pipeline folder (with an image_encoder/ for CLIP image similarity).") var model = "models/gradti-emoji"
    @Option(help: "The benchmark folder.") var benchmark = "data/emoji-benchmark"
    @Option(help: "The results folder.") var results = "outputs/study"
    @Option(help: "Comma-separated subjects, or all.") var subjects = "all"
    @Option(help: "Comma-separated strategies.") var strategies = "uniform,900-1000,0-100,350-450,t400,adaptive"
    @Option(help: "Steps per strategy.") var steps = 300
    @Option(help: "Measure every K steps.") var every = 25
    @Option(help: "Comma-separated seeds.") var seeds = "0"
    @Option(help: "Images per step.") var batch = 1
    @Option(help: "Learning rate.") var lr: Float = 5e-3
    @Option(help: "Generations per similarity measurement.") var images = 8

    func run() throws {
        let pipeline = try StableDiffusionPipeline(folder: URL(fileURLWithPath: model))
        let benchmarkURL = URL(fileURLWithPath: benchmark), folder = URL(fileURLWithPath: results)
        let all = try BenchmarkFile.read(benchmarkURL).map(\.slug)
        let chosen = subjects == "all" ? all : subjects.split(separator: ",").map(String.init)
        let seedList = try seeds.split(separator: ",").map { text -> UInt64 in
            guard let seed = UInt64(text) else { throw ValidationError("--seeds: \(text) is not a whole number") }
            return seed
        }
        let plan = StudyPlan(subjects: chosen, strategies: strategies.split(separator: ",").map(String.init), steps: steps, every: every,
                             seeds: seedList, batch: batch, learningRate: lr, similarityImages: images)
        var last = Date.distantPast
        let units = try Study.run(plan, benchmark: benchmarkURL, pipeline: pipeline, results: folder) { done, total, note in
            if Date().timeIntervalSince(last) > 10 {
                last = Date()
                FileHandle.standardOutput.write(Data(String(format: "%5.1f%%  %@\n", 100 * Double(done) / Double(total), note).utf8))
            }
        }
        let summary = StudySummary(units)
        try summary.tableCSV().write(to: folder.appendingPathComponent("summary.csv"), atomically: true, encoding: .utf8)
        try summary.curvesCSV().write(to: folder.appendingPathComponent("curves.csv"), atomically: true, encoding: .utf8)
        try summary.curvesChart().writePNG(to: folder.appendingPathComponent("curves.png"))
        try summary.profileChart(units: units, trainSteps: pipeline.schedule.trainSteps).writePNG(to: folder.appendingPathComponent("profile.png"))
        print(summary.table())
        print("wrote summary.csv, curves.csv, curves.png and profile.png in \(folder.path)")
    }
}
