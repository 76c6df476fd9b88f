import Diffusion
import Foundation
import Graphics
import Inversion
import Jupyter
import Numerics

/// The commands that measure and show: the g(t) profile, plots, the concept images.
extension SessionCommands {
    static let profile = CommandSpec(
        "profile", summary: "Measure g(t), the conditioning-gradient norm, across timesteps.",
        details:
            "For each timestep, the mean and spread of ‖∇_c‖ over K draws of image, prompt and noise, with the current "
            + "vectors, where c is the text encoder's output (the conditioning the UNet attends to); nothing is "
            + "trained. Both definitions of g come from the same backward pass and are kept: `norm` is the paper's "
            + "Eq. 4, the gradient of the unsquared error norm ‖ε_θ(x_t, c) − ε‖; `mse` is the gradient of the MSE "
            + "loss (N / (2‖e‖) times smaller, so it leans towards small t). For v-prediction models the error is "
            + "against the model's own target (v). `jacobian` is ‖∂ε_θ/∂c‖_F, estimated with K random probes "
            + "(E‖Jᵀv‖² = ‖J‖²_F, one backward pass each; the table gives the estimate's standard error). "
            + "`strategy adaptive` and `strategy highgrad` start from the last profile of their definition.",
        options: [
            timestepsOption, OptionSpec("samples", .integer(1...1000), default: "4", help: "draws per timestep"),
            gOption(help: "the definition listed first and summarised (norm and mse are always measured)"),
            probesOption
        ],
        examples: ["profile", "profile t=100:900:100 samples=8", "profile g=mse", "profile g=jacobian probes=8"],
        subcommands: [profileModel]
    ) { call, context in
        let session = try context.workspace.requireSession()
        let timesteps = try profileTimesteps(call, trainSteps: session.pipeline.schedule.trainSteps)
        _ = try context.workspace.requireConcept()
        let samples = try call.int("samples")
        let (g, probes) = try measuredDefinition(call)
        let measured = try context.withProgress(
            "profile", total: timesteps.count, interrupted: { "profile interrupted; the session is unchanged" }
        ) { progress in
            let points = try session.profile(timesteps: timesteps, samples: samples, probes: probes) { index in
                progress.update(index + 1, note: "t = \(timesteps[index])")
                try context.checkCancellation()
            }
            let top = points[g]?.max { $0.mean < $1.mean }
            progress.finish(
                "profiled \(timesteps.count) timesteps; g(t) (\(g.rawValue)) is highest at t = \(top?.t ?? 0)")
            return points
        }
        session.recordProfile(measured, label: "after \(session.stepCount) steps")
        context.io.stream(profileTable(measured, timesteps: timesteps, first: g, spread: "std") + "\n")
    }

    /// The options `profile` and `profile model` share: which timesteps, which g first, how many probes.
    static let timestepsOption = OptionSpec(
        "t", .text, default: "0:1000:50", help: "START:END:STEP timesteps (END excluded)")
    static let probesOption = OptionSpec(
        "probes", .integer(0...64), note: "4 with g=jacobian, else 0",
        help: "random probes per draw for the Jacobian's norm (0: not measured)")
    static func gOption(help: String) -> OptionSpec {
        OptionSpec(
            "g", .choice(GradientDefinition.allCases.map(\.rawValue)), default: GradientDefinition.default.rawValue,
            help: help)
    }

    /// The definition of g a cell asked for (`g=`, Eq. 4's norm by default) and the probes to measure
    /// with (4 when it is the Jacobian, else none unless given).
    static func measuredDefinition(_ call: Invocation) throws -> (g: GradientDefinition, probes: Int) {
        let g = GradientDefinition(rawValue: try call.option("g")) ?? .default
        return (g, try call.givenInt("probes") ?? (g == .jacobian ? 4 : 0))
    }

    /// The timesteps of a `t=START:END:STEP` option, checked against the schedule before the list is
    /// built (t=0:9223372036854775807:1 must not spin).
    static func profileTimesteps(_ call: Invocation, trainSteps T: Int) throws -> [Int] {
        let text = try call.option("t")
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, let start = parts[0], let end = parts[1], let step = parts[2], step > 0, start < end
        else {
            throw CommandError("t=\(text) is not START:END:STEP (for example t=0:1000:50)")
        }
        guard start >= 0, end <= T else {
            throw CommandError("t=\(text): timesteps run from 0 to \(T - 1) in this model (END is at most \(T))")
        }
        return Array(stride(from: start, to: end, by: step))
    }

    /// A profile per definition as a table: `first` first, then the others measured; each with its
    /// mean and `spread`, and the Jacobian's probe error when it was measured.
    static func profileTable(
        _ measured: [GradientDefinition: [ProfilePoint]], timesteps: [Int], first g: GradientDefinition,
        spread: String
    ) -> String {
        let columns = [g] + GradientDefinition.allCases.filter { $0 != g && measured[$0] != nil }
        let probed = measured[.jacobian]?.contains { $0.probeError != nil } == true
        func padded(_ text: String, _ width: Int) -> String {
            String(repeating: " ", count: max(0, width - text.count)) + text
        }
        var lines = [
            "    t" + columns.map { "  " + padded("g \($0.rawValue)", 11) + "  " + padded(spread, 7) }.joined()
                + (probed ? "   probe s.e." : "")
        ]
        for (i, t) in timesteps.enumerated() {
            var line = String(format: "%5d", t)
            for column in columns {
                let p = measured[column].flatMap { i < $0.count ? $0[i] : nil }
                line += String(format: "  %11.4g  %7.3g", p?.mean ?? .nan, p?.std ?? .nan)
            }
            if probed { line += String(format: "  %11.3g", measured[.jacobian]?[i].probeError ?? .nan) }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    static let plot = CommandSpec(
        "plot", summary: "Plot the training loss, the g(t) profiles, or the sampled timesteps.",
        details:
            "`plot g` overlays every profile (mean with a ±1 std band) under one definition of g (the current "
            + "strategy's, else norm; `g=mse` to choose, `g=all` for the last profile of each definition divided by "
            + "its maximum, so their shapes compare) and shades the current strategy's timesteps, as the paper's "
            + "Fig. 1 (left); `plot loss` shows the loss per step and its moving average; `plot "
            + "similarity` the CLIP image similarity measured by `evaluate` and `step` (see `evaluate every=`); "
            + "`plot timesteps` the histogram of sampled t. Shown inline and saved under outputs/.",
        arguments: [ArgumentSpec("WHAT", .choice(["loss", "g", "similarity", "timesteps"]), help: "what to plot")],
        options: [
            OptionSpec(
                "g", .choice(GradientDefinition.allCases.map(\.rawValue) + ["all"]),
                note: "the current strategy's definition, else norm", help: "plot g: which definition of g(t)")
        ],
        examples: ["plot g", "plot g g=all", "plot loss", "plot similarity", "plot timesteps"]
    ) { call, context in
        let session = try context.workspace.requireSession()
        let what = call.value("WHAT") ?? "loss"
        let chart: Chart
        switch what {
        case "g":
            let given = call.givenOption("g")
            let definition: GradientDefinition? =
                given == "all"
                ? nil
                : given.flatMap(GradientDefinition.init) ?? session.sampler.strategy.gradientDefinition ?? .default
            guard let profiles = session.profileChart(definition) else {
                throw CommandError(
                    "no profile\(definition.map { " of g=\($0.rawValue)" } ?? "") yet: run `profile` first")
            }
            chart = profiles
        case "similarity":
            guard let similarity = session.similarityChart() else {
                throw CommandError(
                    session.canMeasureSimilarity
                        ? "no similarity measured yet: run `evaluate` (and `evaluate every=K` to measure during `step`)"
                        : "this pipeline has no image_encoder/, so there is no CLIP image similarity; `plot loss` "
                            + "shows the evaluation loss")
            }
            chart = similarity
        case "timesteps":
            guard let timesteps = session.timestepChart() else {
                throw CommandError("no steps yet: run `step N` first")
            }
            chart = timesteps
        default:
            guard let loss = session.lossChart() else { throw CommandError("no steps yet: run `step N` first") }
            chart = loss
        }
        let image = chart.render()
        try showImage(image, name: "plot-\(what)", context: context)
    }

    /// The concept's images as the model sees them, labelled by number.
    static func showConcept(_ context: CommandContext) throws {
        let session = try context.workspace.requireSession()
        guard let concept = session.concept, !concept.images.isEmpty else {
            throw CommandError("no concept images: use `concept NAME from IMAGES…` first")
        }
        let grid = Canvas.labelledGrid(
            concept.images, labels: concept.images.indices.map { "\(concept.placeholder) #\($0 + 1)" },
            columns: 5)
        try showImage(grid, name: "concept-\(concept.name)", context: context)
    }

    /// Shows an image inline and saves it under the output folder.
    static func showImage(_ image: Image, name: String, context: CommandContext) throws {
        let url = try context.workspace.newOutputs(prefix: "\(name)-", suffixes: [".png"])[0]
        let png: Data
        do {
            png = try image.pngData()
            try FileAccess.writeAtomically(png, to: url)
        } catch { throw CommandError("cannot save \(displayPath(url)): \(error)") }
        context.io.display(
            [
                "image/png": .string(png.base64EncodedString()),
                "text/plain": .string("<\(name): \(image.width)x\(image.height) PNG saved as \(displayPath(url))>")
            ],
            metadata: ["image/png": ["width": .int(image.width), "height": .int(image.height)]])
    }
}
