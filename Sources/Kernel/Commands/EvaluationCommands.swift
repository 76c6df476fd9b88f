import Diffusion
import Foundation
import Graphics
import Inversion
import Jupyter
import Numerics

/// Measuring a session: the evaluation loss, CLIP image similarity, and strategies compared.
enum EvaluationCommands {
    static let all: [CommandSpec] = [evaluate, compare]

    static let evaluate = CommandSpec(
        "evaluate",
        summary: "Measure the evaluation loss and CLIP image similarity now, and set how often `step` does.",
        details:
            "The evaluation loss is the denoising loss on 4 fixed (image, prompt, timestep, noise) items (as in "
            + "DVAR). CLIP image similarity (when the pipeline has an image_encoder/) is the mean cosine between "
            + "CLIP embeddings of `images` generations from the prompts with the placeholder and of every "
            + "concept image, the paper's metric; by default the prompts are the concept's training "
            + "prompts, which for a captioned concept name its images' own backgrounds (set prompt= to "
            + "ask for new scenes). With a CLIP text tower (a CLIPModel folder given as evaluator=PATH, such as "
            + "openai/clip-vit-large-patch14 as downloaded, or the embedded model's own), CLIP-T too: the mean cosine "
            + "of each generation with its prompt without the placeholder, as Gal et al. evaluate. `every=K` makes "
            + "`step` measure every K steps (0: never).",
        options: [
            OptionSpec(
                "every", .integer(0...1_000_000), note: "unchanged (initially 0)",
                help: "measure during `step` every K steps"),
            OptionSpec(
                "similarity", .choice(["on", "off"]), note: "on when the pipeline has an image encoder",
                help: "measure CLIP image similarity"),
            OptionSpec(
                "images", .integer(1...64), note: "unchanged (initially 8)",
                help: "similarity: generations per measurement"),
            OptionSpec(
                "steps", .integer(1...1000), note: "unchanged (initially 20)",
                help: "similarity: DDIM steps per generation"),
            OptionSpec("cfg", .number(0...100), note: "unchanged (initially 5)", help: "similarity: guidance scale"),
            OptionSpec(
                "seed", .integer(0...Int(Int32.max)), note: "unchanged (initially 0)",
                help: "similarity: seed of the generations"),
            OptionSpec(
                "prompt", .text, note: "the concept's training prompts (captions or templates)",
                help: "similarity: one prompt template with {} for the placeholder"),
            OptionSpec(
                "evaluator", .path(extensions: []), note: "unchanged (initially the pipeline's own)",
                help: "a CLIPModel folder (transformers' layout) to measure with; `own`: the pipeline's")
        ],
        examples: [
            "evaluate", "evaluate every=25 images=8", "evaluate prompt=\"a {} on a yellow background\"",
            "evaluate evaluator=models/clip-vit-large-patch14"
        ]
    ) { call, context in
        let session = try context.workspace.requireSession()
        if let path = call.givenOption("evaluator") {
            if path == "own" {
                session.setEvaluator(nil)
            } else {
                do { session.setEvaluator(try CLIPEvaluator(clipModelFolder: resolvePath(path))) } catch {
                    throw CommandError("evaluator=\(path): \(error)")
                }
            }
            context.io.stream("measuring with \(session.evaluator.map(describe) ?? "no CLIP")\n")
        }
        var settings = session.similaritySettings
        if let images = try call.givenInt("images") { settings.images = images }
        if let steps = try call.givenInt("steps") { settings.steps = steps }
        if let cfg = try call.givenDouble("cfg") { settings.guidance = Float(cfg) }
        if let seed = try call.givenInt("seed") { settings.seed = UInt64(seed) }
        if let prompt = call.givenOption("prompt") {
            guard prompt.contains("{}") else {
                throw CommandError("prompt=\"\(prompt)\" needs {} where the placeholder goes, e.g. \"a photo of a {}\"")
            }
            settings.prompts = [prompt]
        }
        if call.givenOption("similarity") == "on" && !session.canMeasureSimilarity {
            throw CommandError(
                "this pipeline has no image_encoder/ folder, so CLIP image similarity cannot be measured; use "
                    + "similarity=off"
            )
        }
        let workspace = context.workspace
        // An evaluate that is interrupted or fails changes no setting.
        let before = (session.similaritySettings, session.measurement)
        var finished = false
        defer {
            if !finished { (session.similaritySettings, session.measurement) = before }
        }
        session.similaritySettings = settings
        if let similarity = call.givenOption("similarity") { session.measurement.similarity = similarity == "on" }
        if let every = try call.givenInt("every") { session.measurement.every = every }
        guard session.concept != nil else {
            guard !call.options.isEmpty else { throw CommandError(InversionError.noConcept.description) }
            context.io.stream(
                "measurement settings set (\(settings.images) images, \(settings.steps) DDIM steps, cfg "
                    + "\(settings.guidance)); no concept to measure yet\n"
            )
            finished = true
            return
        }
        _ = try workspace.requireConcept()
        var lines: [String] = []
        try context.withProgress(
            "evaluate", total: session.measuresSimilarity ? settings.steps : 1,
            interrupted: { "evaluation interrupted" }
        ) { progress in
            lines.append(String(format: "evaluation loss: %.5f (4 fixed items)", try session.recordEvaluation()))
            if session.measuresSimilarity {
                let (value, images, text) = try session.recordSimilarity { index in
                    progress.update(index + 1, note: "generating \(settings.images) image(s)")
                    try context.checkCancellation()
                }
                lines.append(
                    String(
                        format: "CLIP image similarity: %.4f (%d generations x %d concept images)",
                        value, images.count, session.concept?.images.count ?? 0))
                if let text { lines.append(String(format: "CLIP text similarity (CLIP-T): %.4f", text)) }
                progress.finish("measured at step \(session.stepCount)")
                let labels = images.indices.map { "seed \(settings.seed) #\($0 + 1)" }
                try SessionCommands.showImage(
                    Canvas.labelledGrid(images, labels: labels, columns: min(images.count, 4)),
                    name: "evaluate", context: context)
            } else {
                progress.finish("measured at step \(session.stepCount)")
            }
        }
        finished = true
        if !session.canMeasureSimilarity {
            lines.append("(no image_encoder/ in this pipeline: no CLIP image similarity)")
        }
        lines.append(
            session.measurement.every > 0
                ? "`step` measures every \(session.measurement.every) steps" : "`step` does not measure (set every=K)")
        context.io.stream(lines.joined(separator: "\n") + "\n")
    }

    static let compare = CommandSpec(
        "compare",
        summary: "Run several timestep strategies from the same start and plot their progress (the paper's Fig. 2a).",
        details:
            "Each strategy trains for N steps from the current vectors with fresh optimiser moments and the same seed "
            + "(the same images, prompts and noise; only the timesteps differ), measuring every K steps CLIP image "
            + "similarity (when the pipeline has an image encoder, else the evaluation loss). Strategies: "
            + "uniform, A-B (a range, e.g. 350-450), T or tT (one timestep, e.g. t400), adaptive, highgrad, "
            + "tpeak (the single timestep of highest profiled g(t); these three start from the last "
            + "profile). A suffix picks the definition of g (adaptive-mse, highgrad-jacobian; norm, Eq. 4, by "
            + "default); highgrad-model and tpeak-model pick from the model's profile (`profile model`). The first "
            + "strategy is the reference of the table of steps needed to reach "
            + "a share of its change. Each run's embedding is kept as the placeholder "
            + "<NAME-RUN> (usable in `generate`) and saved under outputs/; the session " + "itself is left as it was.",
        arguments: [
            ArgumentSpec("STRATEGY", .text, count: .oneOrMore, help: "uniform | A-B | tT | adaptive | highgrad | tpeak")
        ],
        options: [
            OptionSpec.required("steps", .integer(1...1_000_000), help: "steps per strategy"),
            OptionSpec("every", .integer(1...1_000_000), note: "steps/10", help: "measure every K steps"),
            OptionSpec(
                "seed", .integer(0...Int(Int32.max)), note: "the optimizer's", help: "seed shared by all runs"),
            OptionSpec(
                "metric", .choice(["auto", "similarity", "loss"]), default: "auto", help: "what to measure and plot")
        ],
        examples: [
            "compare uniform 900-1000 0-100 350-450 t400 adaptive steps=200 every=20",
            "compare uniform adaptive steps=100 metric=loss"
        ]
    ) { call, context in
        let (session, concept) = try context.workspace.requireConcept()
        let steps = try call.int("steps")
        let every = try call.givenInt("every") ?? max(1, steps / 10)
        let T = session.pipeline.schedule.trainSteps
        let workspace = context.workspace
        let strategies: [TimestepStrategy]
        strategies = try call.values("STRATEGY").map { name in
            try TimestepStrategy(
                shortName: name, trainSteps: T, adaptive: workspace.adaptiveDefaults,
                highGrad: workspace.highGradDefaults)
        }
        let similarity: Bool
        switch try call.option("metric") {
        case "similarity":
            guard session.canMeasureSimilarity else {
                throw CommandError("this pipeline has no image_encoder/: use metric=loss")
            }
            similarity = true
        case "loss": similarity = false
        default: similarity = session.measuresSimilarity
        }
        let profiles = session.lastProfiles
        _ = try session.comparisonSamplers(
            strategies, steps: steps, every: every, profiles: profiles, similarity: similarity)
        let comparison = try context.withProgress(
            "compare", total: strategies.count * steps, interrupted: { "compare interrupted; the session is as it was" }
        ) { progress in
            let comparison = try session.compare(
                strategies, steps: steps, every: every,
                seed: try call.givenInt("seed").map(UInt64.init),
                profiles: profiles, similarity: similarity
            ) { run, step, note in
                if !note.isEmpty {
                    progress.update(
                        run * steps + step, note: "\(strategies[run].shortName(trainSteps: T)) step \(step): \(note)")
                }
                try context.checkCancellation()
            }
            progress.finish(
                "compared \(comparison.runs.count) \(comparison.runs.count == 1 ? "strategy" : "strategies") over "
                    + "\(steps) steps each"
            )
            return comparison
        }
        workspace.comparison = comparison

        var chart = Chart(
            title: "\(comparison.metricName) of <\(concept.name)> by strategy (seed \(comparison.seed))",
            xLabel: "step", yLabel: comparison.metricName)
        chart.series = comparison.runs.map { run in
            Chart.Series(name: run.name, points: comparison.curve(run).map { (x: Double($0.step), y: $0.value) })
        }
        try SessionCommands.showImage(chart.render(), name: "compare", context: context)
        context.io.stream(table(comparison) + "\n")
        try saveRuns(comparison, context: context)
        let runsWithImages = comparison.runs.filter { !$0.images.isEmpty }
        if !runsWithImages.isEmpty {
            let columns = runsWithImages[0].images.count
            let grid = Canvas.labelledGrid(
                runsWithImages.flatMap(\.images),
                labels: runsWithImages.flatMap { run in run.images.indices.map { "\(run.name) #\($0 + 1)" } },
                columns: min(columns, 8))
            try SessionCommands.showImage(grid, name: "compare-images", context: context)
        }
    }

    /// The comparison as a text table: final value, steps to reach shares of the reference's change, speed.
    static func table(_ comparison: Comparison) -> String {
        let reference = comparison.runs.first?.name ?? ""
        var lines = [
            "steps to reach 50% / 90% / 100% of \(reference)'s change in \(comparison.metricName) (- : never)",
            "strategy      timesteps       final     50%    90%   100%   s/step"
        ]
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func right(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
        }
        for run in comparison.runs {
            let reach = [0.5, 0.9, 1.0].map { right(comparison.stepsToReach($0, run: run).map(String.init) ?? "-", 5) }
            lines.append(
                pad(run.name, 12) + "  " + pad("[\(run.allowed.lowerBound), \(run.allowed.upperBound))", 14)
                    + String(format: "  %6.4f  ", comparison.curve(run).last?.value ?? .nan)
                    + reach.joined(separator: "  ")
                    + String(format: "   %6.3f", run.seconds / Double(max(comparison.steps, 1))))
        }
        return lines.joined(separator: "\n")
    }

    /// Saves each run's embedding (the file `load embedding` and diffusers read).
    static func saveRuns(_ comparison: Comparison, context: CommandContext) throws {
        let folder = context.workspace.outputFolder
        var names: [String] = []
        for run in comparison.runs {
            guard let kept = run.kept else { continue }
            let url = folder.appendingPathComponent("\(kept.name).safetensors")
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try EmbeddingFile.write(token: kept.tokens[0], vectors: kept.vectors, to: url)
            } catch { throw CommandError("cannot save \(displayPath(url)): \(error)") }
            names.append(kept.placeholder)
        }
        context.io.stream(
            "kept as \(names.joined(separator: ", ")) (use them in `generate`); saved under \(displayPath(folder))\n")
    }
}

/// "the CLIPModel at models/clip (CLIP-I and CLIP-T)".
func describe(_ evaluator: CLIPEvaluator) -> String {
    let source =
        evaluator.source.hasPrefix("/")
        ? "the CLIPModel at \(displayPath(URL(fileURLWithPath: evaluator.source)))" : evaluator.source
    return source + (evaluator.text == nil ? " (CLIP-I)" : " (CLIP-I and CLIP-T)")
}
