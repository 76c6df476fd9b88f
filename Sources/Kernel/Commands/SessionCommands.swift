import Diffusion
import Foundation
import Inversion
import Jupyter
import Numerics

/// The commands of a textual-inversion session.
enum SessionCommands {
    static let all: [CommandSpec] = [
        load, info, concept, strategy, optimizer, profile, step, plot, generate, save, export
    ]

    static let load = CommandSpec(
        "load",
        summary:
            "Load a pipeline folder (diffusers layout; the embedded model without one), or `load embedding FILE` "
            + "learned vectors.",
        details:
            "A pipeline folder holds model_index.json, tokenizer/, text_encoder/, unet/, vae/ and scheduler/ "
            + "(image_encoder/ optional); weights in safetensors. Loading a pipeline starts a new session. `load "
            + "embedding FILE [token=<name>]` reads a textual-inversion embedding (a single `<token>` key, "
            + "kohya's `emb_params`, or `clip_l`/`clip_g`) as the session's concept. `load session FILE` "
            + "restores a session saved with `save session` (load its model first).",
        arguments: [
            ArgumentSpec("PATH", .path(extensions: []), count: .optional, help: "a pipeline folder")
        ],
        examples: [
            "load", "load models/sd-tiny", "load embedding cat-toy.safetensors token=<cat-toy>",
            "load session run1.safetensors"
        ],
        subcommands: [loadEmbedding, loadSession]
    ) { call, context in
        let paths = call.values("PATH")
        let folder: URL
        if let path = paths.first {
            folder = resolvePath(path)
        } else {
            folder = try Installation.defaultModelFolder()
        }
        do {
            try context.workspace.load(folder, beforeCommit: { try context.checkCancellation() })
        } catch let error as CommandError { throw error } catch let error as Interrupted { throw error } catch {
            throw CommandError(String(describing: error))
        }
        guard let p = context.workspace.pipeline else { return }
        context.io.stream(
            "loaded \(paths.first ?? "the embedded model (\(folder.lastPathComponent))"): UNet "
                + "\(p.unet.config.blockChannels) at \(p.unet.config.sampleSize)x\(p.unet.config.sampleSize) latents, "
                + "text encoder width \(p.textEncoder.config.hiddenSize), \(p.schedule.trainSteps) timesteps, "
                + "\(p.schedule.prediction.rawValue) prediction\n")
    }

    static let loadEmbedding = CommandSpec(
        "embedding", summary: "Load learned vectors as the session's concept.",
        arguments: [ArgumentSpec("FILE", .path(extensions: ["safetensors"]), help: "the embedding file")],
        options: [OptionSpec("token", .text, note: "the file's own", help: "the placeholder to use")]
    ) { call, context in
        let session = try context.workspace.requireSession()
        let concept: Concept
        do {
            concept = try session.loadEmbedding(
                from: resolvePath(call.value("FILE") ?? ""), token: call.givenOption("token"))
        } catch { throw CommandError(String(describing: error)) }
        context.io.stream("loaded \(concept.tokenIDs.count) vector(s) as \(concept.placeholder)\n")
    }

    static let loadSession = CommandSpec(
        "session", summary: "Restore a session saved with `save session` (load its model first).",
        arguments: [ArgumentSpec("FILE", .path(extensions: ["safetensors"]), help: "the session file")]
    ) { call, context in
        let session = try context.workspace.requireSession()
        do { try session.loadSession(from: resolvePath(call.value("FILE") ?? "")) } catch {
            throw CommandError(String(describing: error))
        }
        context.io.stream(
            "loaded session: \(session.concept?.placeholder ?? ""), step \(session.stepCount), "
                + "\(session.sampler.strategy)\n"
        )
    }

    static let info = CommandSpec("info", summary: "Show the model, concept, strategy, optimiser and progress.") {
        _, context in
        let w = context.workspace
        guard let session = w.session, let pipeline = w.pipeline else {
            context.io.stream(Workspace.noModel + "\n")
            return
        }
        var lines = ["model: \(pipeline.folder.path)"]
        if let concept = session.concept {
            lines.append(
                "concept: \(concept.name) (\(concept.kind.rawValue)), \(concept.images.count) images, tokens "
                    + "\(concept.placeholder)"
            )
        } else {
            lines.append("concept: none (use `concept NAME from IMAGES…`)")
        }
        let s = session.settings
        lines.append(strategyLine(session))
        lines.append(
            "optimizer: AdamW lr=\(s.learningRate) batch=\(s.batch) weight_decay=\(s.weightDecay) seed=\(s.seed)")
        let seconds = session.history.map(\.seconds).reduce(0, +)
        lines.append(
            String(
                format: "steps: %d (%.1f s, %.2f s/step)", session.stepCount, seconds,
                session.stepCount > 0 ? seconds / Double(session.history.count) : 0))
        if let last = session.history.last { lines.append(String(format: "last loss: %.5f", last.loss)) }
        if let last = session.evaluationHistory.last {
            lines.append(String(format: "evaluation loss: %.5f (step %d)", last.loss, last.step))
        }
        if let last = session.similarityHistory.last {
            lines.append(String(format: "CLIP image similarity: %.4f (step %d)", last.value, last.step))
        }
        lines.append(
            "measuring: " + (w.evaluateEvery > 0 ? "every \(w.evaluateEvery) steps" : "off (`evaluate every=K`)")
                + (session.canMeasureSimilarity ? "" : "; no image_encoder/, so no CLIP image similarity"))
        if !session.keptEmbeddings.isEmpty {
            lines.append("kept embeddings: " + session.keptEmbeddings.map(\.placeholder).joined(separator: ", "))
        }
        context.io.stream(lines.joined(separator: "\n") + "\n")
    }

    static let concept = CommandSpec(
        "concept", summary: "Start learning a concept from a few images.",
        details:
            "Adds placeholder token(s) <NAME> (and <NAME>_1, … for several vectors) initialised from the init word, "
            + "prepares the images (center square at the model's resolution) and encodes them and their mirror "
            + "images once with the VAE. Training prompts: textual inversion's templates for an object or a "
            + "style (\"a photo of a {}\", …), or with kind=captions each image's own caption, read from "
            + "the text file next to it (cat.png: cat.txt, one line such as \"a {} on a red "
            + "background\", {} for the concept; several lines are alternatives), for a model "
            + "trained on captions of that form; captioned images are not mirrored, as a "
            + "caption may name a side. Without kind, captions are used when every image "
            + "has a usable one (a note says why when some are not).",
        arguments: [
            ArgumentSpec("NAME", .text, help: "the concept's name; its token is <NAME>"),
            ArgumentSpec("from", .keyword("from"), help: "the word `from`"),
            ArgumentSpec(
                "PATH", .path(extensions: ["png"]), count: .oneOrMore, help: "PNG images, folders of them, or patterns")
        ],
        options: [
            OptionSpec("init", .text, default: "object", help: "a one-token word the vectors start from"),
            OptionSpec("vectors", .integer(1...16), default: "1", help: "how many vectors (tokens) to learn"),
            OptionSpec(
                "kind", .choice(ConceptKind.allCases.map(\.rawValue)),
                note: "captions if every image has a usable IMAGE.txt, else object",
                help: "train with the object or style templates, or each image's caption")
        ],
        examples: [
            "concept cat-toy from images/*.png init=toy", "concept teapot from data/emoji-benchmark/teapot init=pot",
            "concept watercolor from style/*.png kind=style vectors=2"
        ]
    ) { call, context in
        let session = try context.workspace.requireSession()
        var urls: [URL] = []
        for path in call.values("PATH") { urls += try expandPattern(path).map(\.url) }
        do {
            try session.setConcept(
                name: call.value("NAME") ?? "", images: urls, initWord: try call.option("init"),
                vectors: try call.int("vectors"),
                kind: call.givenOption("kind").flatMap(ConceptKind.init(rawValue:)),
                shouldStop: { try context.checkCancellation() })
        } catch let error as Interrupted { throw error } catch { throw CommandError(String(describing: error)) }
        guard let concept = session.concept else { return }
        if let ignored = concept.ignoredCaptions {
            context.io.stream("note: the caption files next to the images are not used (\(ignored))\n", to: .stderr)
        }
        context.io.stream(
            "concept \(concept.name): \(concept.images.count) images, tokens \(concept.placeholder), from "
                + "\"\(try call.option("init"))\", trained with "
                + "\(concept.kind == .captions ? "their captions" : "the \(concept.kind.rawValue) templates")\n"
        )
    }

    static let strategy = CommandSpec(
        "strategy", summary: "Choose how training timesteps are sampled.",
        details: """
            uniform [A B]: uniform over [A, B) (default [0, T)); range A B: the same; single T: only T; \
            adaptive: probability ∝ an on-the-fly estimate of g(t) per bin (Eq. 5), seeded by the last profile; \
            highgrad: the width-W interval with the highest profiled g(t). `strategy` alone shows the current one.
            """,
        arguments: [
            ArgumentSpec(
                "KIND", .choice(["uniform", "range", "single", "adaptive", "highgrad"]), count: .optional,
                help: "the strategy"),
            ArgumentSpec("T", .integer(0...100_000), count: .any, help: "timesteps for uniform, range and single")
        ],
        options: [
            OptionSpec(
                "bins", .integer(1...1000), default: "\(TimestepStrategy.Defaults.bins)",
                help: "adaptive: number of timestep bins"),
            OptionSpec(
                "floor", .number(0...1), default: "\(TimestepStrategy.Defaults.floor)",
                help: "adaptive: share of uniform sampling"),
            OptionSpec(
                "ema", .number(0.001...1), default: "\(TimestepStrategy.Defaults.ema)",
                help: "adaptive: smoothing of the g(t) estimates"),
            OptionSpec(
                "width", .integer(1...100_000), default: "\(TimestepStrategy.Defaults.width)",
                help: "highgrad: interval width"),
            OptionSpec("reweight", .choice(["true", "false"]), default: "false", help: "weigh losses by 1/(T·p(t))")
        ],
        examples: [
            "strategy uniform", "strategy range 350 450", "strategy single 400", "strategy adaptive bins=20",
            "strategy highgrad width=100"
        ]
    ) { call, context in
        let session = try context.workspace.requireSession()
        guard let kind = call.value("KIND") else {
            guard call.options.isEmpty else {
                throw CommandError("options need a strategy: for example `strategy adaptive bins=10`")
            }
            context.io.stream(strategyLine(session) + "\n")
            return
        }
        let numbers = call.values("T").compactMap(Int.init)
        let T = session.pipeline.schedule.trainSteps
        let chosen: TimestepStrategy
        switch (kind, numbers.count) {
        case ("uniform", 0): chosen = .range(0, T)
        case ("uniform", 2), ("range", 2): chosen = .range(numbers[0], numbers[1])
        case ("single", 1): chosen = .single(numbers[0])
        case ("adaptive", 0):
            chosen = .adaptive(bins: try call.int("bins"), floor: try call.double("floor"), ema: try call.double("ema"))
        case ("highgrad", 0): chosen = .highGrad(width: try call.int("width"))
        default:
            let wanted = [
                "single": "one timestep", "range": "two timesteps A B", "uniform": "none or two timesteps A B"
            ]
            throw CommandError("`strategy \(kind)` takes \(wanted[kind] ?? "no timesteps"), not \(numbers.count)")
        }
        do {
            try session.setStrategy(chosen, profile: context.workspace.profile.map { (t: $0.t, mean: $0.mean) })
            var settings = session.settings
            settings.importanceWeighting = try call.option("reweight") == "true"
            try session.configure(settings)
        } catch { throw CommandError(String(describing: error)) }
        context.workspace.strategy = chosen
        context.io.stream(strategyLine(session) + "\n")
    }

    /// The strategy and the timesteps it can draw, as `strategy` and `info` show them.
    static func strategyLine(_ session: InversionSession) -> String {
        "strategy: \(session.sampler.strategy) → t in [\(session.sampler.allowed.lowerBound), "
            + "\(session.sampler.allowed.upperBound))"
    }

    static let optimizer = CommandSpec(
        "optimizer", summary: "Set AdamW's learning rate, batch size, weight decay and the seed.",
        details:
            "Only the placeholder vectors are optimised; every other embedding row stays as it is. Defaults follow "
            + "the original textual inversion (lr 5e-3) with diffusers' weight decay 1e-2.",
        options: [
            OptionSpec("lr", .number(1e-8...10), note: "unchanged (initially 0.005)", help: "learning rate"),
            OptionSpec("batch", .integer(1...64), note: "unchanged (initially 1)", help: "images per step"),
            OptionSpec(
                "weight_decay", .number(0...1), note: "unchanged (initially 0.01)", help: "decoupled weight decay"),
            OptionSpec(
                "seed", .integer(0...Int(Int32.max)), note: "unchanged (initially 0)",
                help: "seed for images, prompts, noise and timesteps")
        ],
        examples: ["optimizer lr=0.005 batch=4 seed=1"]
    ) { call, context in
        let session = try context.workspace.requireSession()
        var settings = session.settings
        if let lr = try call.givenDouble("lr") { settings.learningRate = Float(lr) }
        if let batch = try call.givenInt("batch") { settings.batch = batch }
        if let weightDecay = try call.givenDouble("weight_decay") { settings.weightDecay = Float(weightDecay) }
        if let seed = try call.givenInt("seed") { settings.seed = UInt64(seed) }
        do { try session.configure(settings) } catch { throw CommandError(String(describing: error)) }
        context.io.stream(
            "optimizer: AdamW lr=\(settings.learningRate) batch=\(settings.batch) "
                + "weight_decay=\(settings.weightDecay) seed=\(settings.seed)\n"
        )
    }

    static let profile = CommandSpec(
        "profile", summary: "Measure g(t), the conditioning-gradient norm, across timesteps.",
        details:
            "For each timestep, the mean and spread of ‖∇_c loss‖ over K draws of image, prompt and noise, with the "
            + "current vectors; nothing is trained. `strategy adaptive` and `strategy highgrad` start from the last "
            + "profile.",
        options: [
            OptionSpec("t", .text, default: "0:1000:50", help: "START:END:STEP timesteps (END excluded)"),
            OptionSpec("samples", .integer(1...1000), default: "4", help: "draws per timestep")
        ],
        examples: ["profile", "profile t=100:900:100 samples=8"]
    ) { call, context in
        let parts = try call.option("t").split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, let start = parts[0], let end = parts[1], let step = parts[2], step > 0, start < end
        else {
            throw CommandError("t=\(try call.option("t")) is not START:END:STEP (for example t=0:1000:50)")
        }
        let (session, _) = try context.workspace.requireConcept()
        // The range is checked before the list is built: t=0:9223372036854775807:1 must not spin.
        let T = session.pipeline.schedule.trainSteps
        guard start >= 0, end <= T else {
            throw CommandError(
                "t=\(try call.option("t")): timesteps run from 0 to \(T - 1) in this model (END is at most \(T))")
        }
        let timesteps = Array(stride(from: start, to: end, by: step))
        let progress = context.progress("profile", total: timesteps.count)
        let points: [(t: Int, mean: Double, std: Double)]
        do {
            points = try session.profile(timesteps: timesteps, samples: try call.int("samples")) { index in
                progress.update(index + 1, note: "t = \(timesteps[index])")
                try context.checkCancellation()
            }
        } catch is Interrupted {
            progress.finish("profile interrupted; the session is unchanged")
            throw Interrupted()
        } catch { throw CommandError(String(describing: error)) }
        context.workspace.profile = points
        context.workspace.profiles.append(("after \(session.stepCount) steps", points))
        let top = points.max { $0.mean < $1.mean }
        progress.finish("profiled \(points.count) timesteps; g(t) is highest at t = \(top?.t ?? 0)")
        var table = ["    t    mean g(t)     std"]
        for p in points { table.append(String(format: "%5d  %11.4g  %10.3g", p.t, p.mean, p.std)) }
        context.io.stream(table.joined(separator: "\n") + "\n")
    }

    static let plot = CommandSpec(
        "plot", summary: "Plot the training loss, the g(t) profiles, or the sampled timesteps.",
        details:
            "`plot g` overlays every profile (mean with a ±1 std band) and shades the current strategy's timesteps, "
            + "as the paper's Fig. 1 (left); `plot loss` shows the loss per step and its moving average; `plot "
            + "similarity` the CLIP image similarity measured by `evaluate` and `step` (see `evaluate every=`); "
            + "`plot timesteps` the histogram of sampled t. Shown inline and saved under outputs/.",
        arguments: [ArgumentSpec("WHAT", .choice(["loss", "g", "similarity", "timesteps"]), help: "what to plot")],
        examples: ["plot g", "plot loss", "plot similarity", "plot timesteps"]
    ) { call, context in
        let session = try context.workspace.requireSession()
        let what = call.value("WHAT") ?? "loss"
        var chart: Chart
        switch what {
        case "g":
            guard !context.workspace.profiles.isEmpty else { throw CommandError("no profile yet: run `profile` first") }
            chart = Chart(
                title: "conditioning-gradient norm g(t)", xLabel: "timestep t", yLabel: "g(t) = E ||grad_c loss||")
            chart.series = context.workspace.profiles.map { profile in
                Chart.Series(
                    name: "profile " + profile.label, points: profile.points.map { (Double($0.t), $0.mean) },
                    band: profile.points.map { (Double($0.t), $0.mean - $0.std, $0.mean + $0.std) })
            }
            let allowed = session.sampler.allowed
            if allowed.count < session.pipeline.schedule.trainSteps {
                chart.regions = [
                    Chart.Region(
                        from: Double(allowed.lowerBound), to: Double(allowed.upperBound),
                        label: "\(session.sampler.strategy)")
                ]
            }
            chart.xRange = 0...Double(session.pipeline.schedule.trainSteps)
        case "similarity":
            guard !session.similarityHistory.isEmpty else {
                throw CommandError(
                    session.canMeasureSimilarity
                        ? "no similarity measured yet: run `evaluate` (and `evaluate every=K` to measure during `step`)"
                        : "this pipeline has no image_encoder/, so there is no CLIP image similarity; `plot loss` "
                            + "shows the evaluation loss"
                )
            }
            chart = Chart(
                title: "CLIP image similarity to the concept images", xLabel: "step", yLabel: "mean cosine similarity")
            chart.series = [
                Chart.Series(
                    name: "\(session.concept?.placeholder ?? "") (\(session.similaritySettings.images) generations)",
                    points: session.similarityHistory.map { (x: Double($0.step), y: $0.value) })
            ]
        case "timesteps":
            let ts = session.history.flatMap(\.timesteps)
            guard !ts.isEmpty else { throw CommandError("no steps yet: run `step N` first") }
            let T = session.pipeline.schedule.trainSteps
            let width = max(1, T / 40)
            chart = Chart(
                title: "sampled timesteps (\(ts.count) samples, \(session.sampler.strategy))", xLabel: "timestep t",
                yLabel: "count")
            chart.bars = stride(from: 0, to: T, by: width).map { a in
                (Double(a), Double(min(a + width, T)), Double(ts.filter { $0 >= a && $0 < a + width }.count))
            }
            chart.xRange = 0...Double(T)
        default:
            guard !session.history.isEmpty else { throw CommandError("no steps yet: run `step N` first") }
            chart = Chart(title: "training loss", xLabel: "step", yLabel: "loss")
            let losses = session.history.map { (Double($0.step), Double($0.loss)) }
            let window = max(1, losses.count / 20)
            let smooth = losses.indices.map { i -> (Double, Double) in
                let slice = losses[max(0, i - window + 1)...i]
                return (losses[i].0, slice.map(\.1).reduce(0, +) / Double(slice.count))
            }
            chart.series = [
                Chart.Series(name: "loss", points: losses.map { (x: $0.0, y: $0.1) }),
                Chart.Series(name: "moving average (\(window))", points: smooth.map { (x: $0.0, y: $0.1) })
            ]
            if session.evaluationHistory.count > 1 {
                chart.series.append(
                    Chart.Series(
                        name: "evaluation loss (fixed items)",
                        points: session.evaluationHistory.map { (x: Double($0.step), y: Double($0.loss)) }))
            }
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

    static let export = CommandSpec(
        "export", summary: "Write the training history as CSV.",
        details:
            "`export metrics FILE.csv`: one row per step with the loss, the sampled timesteps and their "
            + "conditioning-gradient norms (g(t) samples) and the step's time; a missing folder is made.",
        arguments: [
            ArgumentSpec("WHAT", .choice(["metrics"]), help: "what to export"),
            ArgumentSpec("PATH", .path(extensions: ["csv"]), help: "the CSV file to write")
        ],
        examples: ["export metrics run1.csv"]
    ) { call, context in
        let session = try context.workspace.requireSession()
        var lines = ["step,loss,timesteps,gradient_norms,seconds"]
        for r in session.history {
            let timesteps = r.timesteps.map(String.init).joined(separator: " ")
            let norms = r.gradientNorms.map { String(format: "%.6g", $0) }.joined(separator: " ")
            lines.append("\(r.step),\(r.loss),\(timesteps),\(norms),\(String(format: "%.4f", r.seconds))")
        }
        let url = try outputPath(call.value("PATH") ?? "")
        do { try FileAccess.writeAtomically(lines.joined(separator: "\n") + "\n", to: url) } catch {
            throw CommandError(String(describing: error))
        }
        context.io.stream("wrote \(session.history.count) steps to \(displayPath(url))\n")
    }

    /// Shows an image inline and saves it under the output folder.
    static func showImage(_ image: Image, name: String, context: CommandContext) throws {
        let url = try context.workspace.newOutputs(prefix: "\(name)-", suffixes: [".png"])[0]
        let png: Data
        do {
            png = try image.pngData()
            try FileAccess.writeAtomically(png, to: url)
        } catch { throw CommandError("cannot save \(url.path): \(error)") }
        context.io.display(
            [
                "image/png": .string(png.base64EncodedString()),
                "text/plain": .string("<\(name): \(image.width)x\(image.height) PNG saved as \(displayPath(url))>")
            ],
            metadata: ["image/png": ["width": .int(image.width), "height": .int(image.height)]])
    }

    static let generate = CommandSpec(
        "generate", summary: "Generate images from a prompt (DDIM with classifier-free guidance).",
        details:
            "The prompt may use the concept's placeholder; a `<…>` word that is none of the session's placeholders is "
            + "an error (the tokenizer would split it into pieces). Shows one grid inline (enlarged for small "
            + "models) and saves each image at the model's resolution under outputs/.",
        arguments: [ArgumentSpec("PROMPT", .text, help: "the prompt, quoted")],
        options: [
            OptionSpec("n", .integer(1...64), default: "4", help: "how many images"),
            OptionSpec("steps", .integer(1...1000), default: "30", help: "DDIM steps"),
            OptionSpec("cfg", .number(0...100), default: "7.5", help: "classifier-free guidance scale"),
            OptionSpec("seed", .integer(0...Int(Int32.max)), default: "0", help: "seed of the initial noise"),
            OptionSpec("negative", .text, default: "", help: "the negative (unconditional) prompt")
        ],
        examples: ["generate \"a photo of <cat-toy> on a beach\" n=4 seed=1"]
    ) { call, context in
        let session = try context.workspace.requireSession()
        let (n, steps) = (try call.int("n"), try call.int("steps"))
        let prompt = call.value("PROMPT") ?? ""
        do { try session.checkPlaceholders(in: [prompt, try call.option("negative")]) } catch {
            throw CommandError(String(describing: error))
        }
        // As diffusers does, say what the text encoder will not read.
        let tokenizer = session.pipeline.tokenizer
        let room = tokenizer.promptCapacity
        for (what, text) in [("prompt", prompt), ("negative prompt", try call.option("negative"))] {
            let encoding = tokenizer.encode(text)
            guard encoding.truncated else { continue }
            let cut = tokenizer.decode(encoding.tokens[room...])
            context.io.stream(
                "warning: the \(what) has \(encoding.tokens.count) tokens and the text encoder reads \(room); this "
                    + "end is cut: \"\(cut)\"\n",
                to: .stderr)
        }
        let progress = context.progress("generate", total: steps)
        let images: [Image]
        do {
            images = try session.generate(
                prompt: prompt, count: n, steps: steps, guidance: Float(try call.double("cfg")),
                seed: UInt64(try call.int("seed")), negative: try call.option("negative")
            ) { index in
                progress.update(index + 1)
                try context.checkCancellation()
            }
        } catch is Interrupted {
            progress.finish("generation interrupted")
            throw Interrupted()
        } catch { throw CommandError(String(describing: error)) }
        let urls = try context.workspace.newOutputs(
            suffixes: images.indices.map { "-seed\(try call.int("seed"))-\($0).png" })
        var saved: [String] = []
        for (image, url) in zip(images, urls) {
            do {
                try image.writePNG(to: url)
                saved.append(displayPath(url))
            } catch {
                throw CommandError("cannot save \(url.path): \(error)")
            }
        }
        progress.finish(
            "generated \(n) image(s) in \(steps) steps; saved "
                + "\(saved.first ?? "")\(n > 1 ? " … \(saved.last ?? "")" : "")"
        )
        // Small models' images are shown enlarged (nearest neighbour keeps them sharp), each labelled.
        let seed = try call.int("seed")
        let grid = Canvas.labelledGrid(
            images, labels: images.indices.map { "seed \(seed) #\($0 + 1)" }, columns: min(n, 4))
        let png: Data
        do { png = try grid.pngData() } catch { throw CommandError("cannot encode the grid: \(error)") }
        context.io.display(
            [
                "image/png": .string(png.base64EncodedString()),
                "text/plain": .string("<\(n) image(s) for \"\(prompt)\": \(saved.joined(separator: ", "))>")
            ],
            metadata: ["image/png": ["width": .int(grid.width), "height": .int(grid.height)]])
    }

    static let save = CommandSpec(
        "save", summary: "Save the learned embedding, or the whole session, as safetensors.",
        details:
            "`save embedding FILE` writes one key, `<token>`: float32 [N, width], the file that diffusers' "
            + "`load_textual_inversion`, AUTOMATIC1111, kohya and InvokeAI read. `save session FILE` keeps "
            + "everything needed to continue exactly: vectors, optimiser moments, step, random state, strategy "
            + "and g(t) estimates, settings, concept images, histories. Files are written under a temporary "
            + "name and renamed, so an interruption never leaves half a file; a missing folder is made.",
        arguments: [
            ArgumentSpec("WHAT", .choice(["embedding", "session"]), help: "what to save"),
            ArgumentSpec("PATH", .path(extensions: ["safetensors"]), help: "the file to write")
        ],
        examples: ["save embedding cat-toy.safetensors", "save session run1.safetensors"]
    ) { call, context in
        let session = try context.workspace.requireSession()
        guard session.concept != nil else { throw CommandError(InversionError.noConcept.description) }
        let url = try outputPath(call.value("PATH") ?? "")
        do {
            if call.value("WHAT") == "session" {
                try session.saveSession(to: url)
            } else {
                try session.saveEmbedding(to: url)
            }
        } catch { throw CommandError(String(describing: error)) }
        context.io.stream(
            "saved \(call.value("WHAT") ?? "") \(session.concept?.placeholder ?? "") to \(displayPath(url))\n")
    }

    static let step = CommandSpec(
        "step", summary: "Run N optimisation steps.",
        details:
            "Shows step, loss and last t live. An interrupt stops between steps or inside one; an interrupted step is "
            + "dropped whole, so the session stays consistent.",
        arguments: [ArgumentSpec("N", .integer(1...1_000_000), help: "how many steps")],
        options: [
            OptionSpec(
                "stop", .choice(["none", "dvar"]), default: "none",
                help: "dvar: stop early when the evaluation loss has settled (Voronov et al., 2023)"),
            OptionSpec(
                "window", .integer(2...100_000), default: "50", help: "dvar: the window W of recent evaluation losses"),
            OptionSpec("eps", .number(0...1), default: "0.15", help: "dvar: stop when var(last W) < eps · var(all)"),
            OptionSpec(
                "every", .integer(1...100_000), note: "1 with stop=dvar, else the every= of evaluate",
                help: "measure the evaluation loss (and similarity, see `evaluate`) every K steps")
        ],
        examples: ["step 200", "step 2000 stop=dvar window=100"]
    ) { call, context in
        let (session, _) = try context.workspace.requireConcept()
        let n = Int(call.value("N") ?? "") ?? 1
        let progress = context.progress("step", total: n)
        // The evaluation loss costs a forward pass: measured only for DVAR or when asked for.
        let useDvar = try call.option("stop") == "dvar"
        let every = try call.givenInt("every") ?? (useDvar ? 1 : context.workspace.evaluateEvery)
        let similarity = context.workspace.measuresSimilarity
        var done = 0
        var stoppedEarly = false
        do {
            if every > 0 && session.evaluationHistory.isEmpty { try session.recordEvaluation() }
            // Measurements generate images: they poll for interrupts at each denoising step.
            let poll: (Int) throws -> Void = { _ in try context.checkCancellation() }
            if every > 0 && similarity && session.similarityHistory.isEmpty {
                try session.recordSimilarity(onStep: poll)
            }
            for i in 0..<n {
                let record = try session.step(shouldStop: { try context.checkCancellation() })
                done = i + 1
                var note = String(
                    format: "step %d, loss %.4f, t = %@", record.step, record.loss,
                    record.timesteps.map(String.init).joined(separator: ","))
                if every > 0 && record.step % every == 0 {
                    note += String(format: ", eval %.4f", try session.recordEvaluation())
                    if similarity {
                        note += String(format: ", similarity %.4f", try session.recordSimilarity(onStep: poll).value)
                    }
                    if try useDvar && session.dvarSaysStop(window: call.int("window"), eps: call.double("eps")) {
                        progress.update(done, note: note)
                        stoppedEarly = true
                        break
                    }
                }
                progress.update(done, note: note)
            }
        } catch is Interrupted {
            progress.finish(
                "interrupted after \(done) of \(n) steps (step \(session.stepCount)); the session is consistent")
            throw Interrupted()
        } catch { throw CommandError(String(describing: error)) }
        let recent = session.history.suffix(done)
        let meanLoss = recent.map { Double($0.loss) }.reduce(0, +) / Double(max(recent.count, 1))
        let evaluation =
            (session.evaluationHistory.last.map { String(format: ", evaluation loss %.4f", $0.loss) } ?? "")
            + (session.similarityHistory.last.map { String(format: ", similarity %.4f", $0.value) } ?? "")
        progress.finish(
            String(
                format: "%d steps (now %d): mean loss %.4f%@, %.2f s/step", done, session.stepCount, meanLoss,
                evaluation, recent.map(\.seconds).reduce(0, +) / Double(max(recent.count, 1)))
                + (stoppedEarly ? "; stopped early: DVAR says the evaluation loss has settled" : ""))
    }
}
