import ArgumentParser
import Diffusion
import Foundation
import Graphics
import Inversion
import Kernel

/// What a user of a pipeline folder waits for: `load`, and one textual-inversion step of a session at
/// its default settings (the embedded model's goals: load well under a second, a step well under 100 ms).
struct ModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Time loading a pipeline folder and a session's textual-inversion step on it.")

    @Argument(help: "A pipeline folder; the embedded model by default.") var folder: String?
    @Option(help: "Concept images (PNG) for the session; a benchmark subject of data/emoji-benchmark by default.")
    var images: [String] = []
    @Option(help: "Images per step (the session's batch).") var batch = 1
    @Option(help: "Timed loads and timed steps (after one warm-up each); medians are reported.") var repeats = 20
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard (1...64).contains(batch) else { throw ValidationError("--batch must be between 1 and 64") }
        guard (1...10_000).contains(repeats) else { throw ValidationError("--repeats must be between 1 and 10000") }
    }

    func run() throws {
        let url = try folder.map { URL(fileURLWithPath: $0) } ?? Installation.defaultModelFolder()
        var pipeline = try StableDiffusionPipeline(folder: url)
        let loadMs = try medianMilliseconds(runs: repeats) { pipeline = try StableDiffusionPipeline(folder: url) }
        let concept = try conceptImages()
        let session = InversionSession(pipeline: pipeline)
        try session.setConcept(name: "bench", images: concept, initWord: "object")
        var settings = session.settings
        settings.batch = batch
        try session.configure(settings)
        let stepMs = try medianMilliseconds(runs: repeats) { try session.step() }
        let peak = Double(peakResidentBytes()) / 1_048_576
        if json {
            print(
                String(
                    format: #"{"model": "%@", "load_ms": %.1f, "ti_step_ms": %.1f, "batch": %d, "peak_rss_mb": %.0f}"#,
                    url.path, loadMs, stepMs, batch, peak))
        } else {
            print("\(url.path): \(concept.count) concept images, batch \(batch)")
            print(
                String(
                    format: "load %.1f ms, textual-inversion step %.1f ms (medians of %d), peak RSS %.0f MB", loadMs,
                    stepMs, repeats, peak))
        }
    }

    private func conceptImages() throws -> [URL] {
        if !images.isEmpty { return images.map { URL(fileURLWithPath: $0) } }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        guard let benchmark = BenchmarkFile.locateDefault(from: cwd),
            let subject = try BenchmarkFile.read(benchmark).first
        else {
            throw ValidationError("no data/emoji-benchmark here or above: give --images")
        }
        return subject.images.map { benchmark.appendingPathComponent(subject.slug).appendingPathComponent($0) }
    }
}
