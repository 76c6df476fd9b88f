import ArgumentParser
import Diffusion
import Foundation
import Inversion
import Numerics
import Training

/// Training the embedded model's components; each run resumes from its folder's checkpoint.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the embedded model's components on emoji scenes (resumable; by hand, not in CI).",
        subcommands: [VAE.self, CLIP.self, UNet.self, Assemble.self, Measure.self, Restore.self])

    static func check(steps: Int, batch: Int, lr: Float) throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard (1...1024).contains(batch) else { throw ValidationError("--batch must be between 1 and 1024") }
        guard lr > 0 && lr.isFinite else { throw ValidationError("--lr must be positive") }
    }

    /// Prints a line at once (the output is often a log file).
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    struct VAE: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the AutoencoderKL (32x32 scenes to 16x16x4 latents).")

        @OptionGroup var fontOptions: DatasetCommand.FontOptions
        @Option(help: "The vae/ folder to train in (resumed when it holds a checkpoint).") var output =
            "models/work/vae"
        @Option(help: "Train until this step.") var steps = 4000
        @Option(help: "Scenes per step.") var batch = 32
        @Option(help: "Peak learning rate.") var lr: Float = 1e-3
        @Option(help: "Weight of the KL term.") var kl: Float = 1e-4
        @Option(
            help: ArgumentHelp(
                "Weight of a scale-equivariance term (half-size latents must decode to the half-size image), which "
                    + "keeps high frequencies out of the latents; default: none.")
        )
        var scaleEquivariance: Float?
        @Flag(help: "Only measure PSNR on 500 held-out scenes.") var evaluate = false

        func validate() throws { try TrainCommand.check(steps: steps, batch: batch, lr: lr) }

        func run() throws {
            let catalog = try fontOptions.catalog()
            let folder = URL(fileURLWithPath: output)
            if evaluate {
                let vae = try AutoencoderKL(folder: folder)
                TrainCommand.line(
                    String(
                        format: "vae PSNR on 500 held-out scenes: %.2f dB", VAETrainer.evaluate(vae, catalog: catalog)))
                return
            }
            var trainer = VAETrainer(folder: folder)
            trainer.steps = steps
            trainer.batch = batch
            trainer.learningRate = lr
            trainer.klWeight = kl
            trainer.scaleEquivarianceWeight = scaleEquivariance
            try trainer.run(catalog: catalog, report: TrainCommand.line)
            let factor = VAETrainer.scalingFactor(try AutoencoderKL(folder: folder), catalog: catalog)
            try VAETrainer.storeScalingFactor(factor, in: folder)
            let vae = try AutoencoderKL(folder: folder)
            TrainCommand.line(
                String(
                    format: "vae PSNR on 500 held-out scenes: %.2f dB; latent scaling factor %.5f",
                    VAETrainer.evaluate(vae, catalog: catalog), factor))
        }
    }

    struct CLIP: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the tiny CLIP (text and image towers) contrastively.")

        @OptionGroup var fontOptions: DatasetCommand.FontOptions
        @Option(help: "The folder for text_encoder/, image_encoder/ and text_projection/.") var output =
            "models/work/clip"
        @Option(help: "A CLIP tokenizer folder (the real BPE vocabulary).")
        var tokenizer = "Tests/DiffusionTests/Fixtures/sd-tiny/pipeline/tokenizer"
        @Option(help: "Train until this step.") var steps = 6000
        @Option(help: "Scenes per step.") var batch = 64
        @Option(help: "Peak learning rate.") var lr: Float = 5e-4
        @Flag(help: "Only measure retrieval on 100 held-out scenes.") var evaluate = false

        func validate() throws { try TrainCommand.check(steps: steps, batch: batch, lr: lr) }

        func run() throws {
            let catalog = try fontOptions.catalog()
            let folder = URL(fileURLWithPath: output)
            let bpe = try CLIPTokenizer(folder: URL(fileURLWithPath: tokenizer))
            if !evaluate {
                var trainer = CLIPTrainer(folder: folder)
                trainer.steps = steps
                trainer.batch = batch
                trainer.learningRate = lr
                try trainer.run(catalog: catalog, tokenizer: bpe, report: TrainCommand.line)
            }
            guard
                FileManager.default.fileExists(
                    atPath: folder.appendingPathComponent("text_encoder/model.safetensors").path)
            else {
                throw ValidationError(
                    "\(output) holds no trained CLIP (text_encoder/model.safetensors): train it first")
            }
            let (text, vision, projection, _) = try CLIPTrainer.open(folder: folder, seed: 0, learningRate: lr)
            let top1 = CLIPTrainer.evaluate(
                text: text, vision: vision, projection: projection, tokenizer: bpe, catalog: catalog)
            TrainCommand.line(String(format: "clip image→caption top-1 among 100 held-out scenes: %.0f%%", top1 * 100))
        }
    }

    static let recipeChannels = (Recipe.unet["block_out_channels"] as? [Int] ?? []).map(String.init).joined(
        separator: ",")

    struct UNet: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unet", abstract: "Train the UNet on latents of the training subjects' scenes.")

        @OptionGroup var fontOptions: DatasetCommand.FontOptions
        @Option(help: "The unet/ folder to train in.") var output = "models/work/unet"
        @Option(help: "The trained text_encoder/ folder.") var textEncoder = "models/work/clip/text_encoder"
        @Option(help: "The trained vae/ folder.") var vae = "models/work/vae"
        @Option(help: "A CLIP tokenizer folder.") var tokenizer =
            "Tests/DiffusionTests/Fixtures/sd-tiny/pipeline/tokenizer"
        @Option(help: "Train until this step.") var steps = 20000
        @Option(help: "Latents per step.") var batch = 32
        @Option(help: "Peak learning rate.") var lr: Float = 5e-4
        @Option(help: "Write a sample grid every this many steps.") var sampleEvery = 1000
        @Option(
            help: "Train on the subjects of this list (`gradti dataset distinct`); kept in the folder for resumed runs."
        )
        var subjects: String?
        @Option(help: "Weigh the loss by Min-SNR-γ with this γ (5 in its paper); default: the plain MSE.")
        var minSNRGamma: Double?
        @Option(
            help: ArgumentHelp(
                "The UNet's block_out_channels, comma-separated (default: the recipe's "
                    + "\(TrainCommand.recipeChannels)); give them again to resume such a run.")
        )
        var channels: String?
        @Option(
            name: .customLong("init"),
            help: ArgumentHelp(
                "How a fresh run draws its first weights: ldm (PyTorch's default scale, and each residual branch's "
                    + "last layer at zero, as latent diffusion), pytorch (U(±1/√fan_in)) or fan-in (N(0, 1/fan_in), "
                    + "which made the committed model).")
        )
        var initialization: Initialization = .ldm

        enum Initialization: String, ExpressibleByArgument, CaseIterable {
            case fanIn = "fan-in"
            case pytorch, ldm
            var scheme: RandomInit {
                switch self {
                case .fanIn: .fanIn
                case .pytorch: RandomInit(scale: .pytorch)
                case .ldm: UNetTrainer.latentDiffusionInit
                }
            }
        }

        func validate() throws {
            try TrainCommand.check(steps: steps, batch: batch, lr: lr)
            if let channels { _ = try Recipe.unet(channels: channels) }
            if let minSNRGamma, !(minSNRGamma > 0) { throw ValidationError("--min-snr-gamma must be positive") }
            guard sampleEvery >= 1 else { throw ValidationError("--sample-every must be at least 1") }
        }

        func run() throws {
            let catalog = try fontOptions.catalog()
            var trainer = UNetTrainer(
                folder: URL(fileURLWithPath: output), textEncoder: URL(fileURLWithPath: textEncoder),
                vae: URL(fileURLWithPath: vae))
            trainer.steps = steps
            trainer.batch = batch
            trainer.learningRate = lr
            trainer.sampleEvery = sampleEvery
            trainer.minSNRGamma = minSNRGamma
            trainer.initialization = initialization.scheme
            if let channels { trainer.config = try Recipe.unet(channels: channels) }
            trainer.subjects = try subjects.map { try SubjectList.read(URL(fileURLWithPath: $0), catalog: catalog) }
            try trainer.run(
                catalog: catalog, tokenizer: try CLIPTokenizer(folder: URL(fileURLWithPath: tokenizer)),
                report: TrainCommand.line)
        }
    }

    struct Assemble: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the trained components as one pipeline folder (diffusers layout, float16).")

        @Option(help: "The work folder holding vae/, clip/ and unet/.") var work = "models/work"
        @Option(help: "A CLIP tokenizer folder.") var tokenizer =
            "Tests/DiffusionTests/Fixtures/sd-tiny/pipeline/tokenizer"
        @Option(help: "The pipeline folder to write.") var output = "models/gradti-emoji"

        func run() throws {
            let bytes = try PipelineExport.write(
                work: URL(fileURLWithPath: work), tokenizer: URL(fileURLWithPath: tokenizer),
                to: URL(fileURLWithPath: output))
            TrainCommand.line(String(format: "wrote %@ (%.1f MB)", output, Double(bytes) / 1e6))
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Noise real scenes to each level and let the UNet restore them (DDIM, guided by their captions): a "
                + "grid and each level's PSNR."
        )

        @OptionGroup var fontOptions: DatasetCommand.FontOptions
        @OptionGroup var modelOptions: ModelOptions
        @Option(help: "The noise levels (timesteps) to restore from, comma-separated.") var levels = "200,400,600,800"
        @Option(help: "Scenes of the UNet's training subjects.") var count = 8
        @Option(help: "Where to write the grid (the real scenes, then one row per level).") var output =
            "restorations.png"

        func levelList() throws -> [Int] {
            let values = levels.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0.map { (1...999).contains($0) } ?? false }) else {
                throw ValidationError(
                    "--levels takes timesteps between 1 and 999, comma-separated, like 200,400,600,800")
            }
            return values.compactMap { $0 }
        }

        func validate() throws {
            _ = try levelList()
            guard (1...64).contains(count) else { throw ValidationError("--count must be between 1 and 64") }
        }

        func run() throws {
            let catalog = try fontOptions.catalog()
            let pipeline = try StableDiffusionPipeline(folder: modelOptions.folder)
            let result = try Restoration.run(
                pipeline: pipeline, catalog: catalog, subjects: modelOptions.subjects(catalog), levels: try levelList(),
                count: count)
            for (level, psnr) in zip(result.levels, result.psnr) {
                TrainCommand.line(String(format: "from t=%d: PSNR %.2f dB", level, psnr))
            }
            try result.grid.writePNG(to: URL(fileURLWithPath: output))
            TrainCommand.line("wrote \(output)")
        }
    }

    struct Measure: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure an assembled model: VAE PSNR, CLIP retrieval, whether generations show their subject.")

        @OptionGroup var fontOptions: DatasetCommand.FontOptions
        @OptionGroup var modelOptions: ModelOptions
        @Option(help: "The work folder (the inversion figure's results go to measure-inversion/ in it).") var work =
            "models/work"
        @Option(help: "Captions to generate for the subject match.") var count = 100
        @Option(help: "Where to write the grid of generations (each row above the real scenes of its captions).")
        var grid = "generations.png"
        @Option(help: "Textual-inversion steps per held-out subject for the inversion figure (0: skip).")
        var inversionSteps = 300
        @Option(help: "The benchmark folder.") var benchmark = "data/emoji-benchmark"

        func validate() throws {
            guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000") }
        }

        func run() throws {
            let catalog = try fontOptions.catalog()
            let pipeline = try StableDiffusionPipeline(folder: modelOptions.folder)
            guard let vision = pipeline.imageEncoder else {
                throw ValidationError("\(modelOptions.model) has no image_encoder/")
            }
            let projection = try PipelineExport.textProjection(in: modelOptions.folder)
            TrainCommand.line(
                String(
                    format: "vae: PSNR %.2f dB on 500 held-out scenes",
                    VAETrainer.evaluate(pipeline.vae, catalog: catalog)))
            let top1 = CLIPTrainer.evaluate(
                text: try pipeline.clipTextModel(), vision: vision, projection: projection,
                tokenizer: pipeline.tokenizer, catalog: catalog)
            TrainCommand.line(
                String(
                    format: "clip: image→caption top-1 %.0f%% among 100 held-out scenes of training subjects",
                    top1 * 100))
            let unetSubjects = try modelOptions.subjects(catalog)
            let match = try GenerationQuality.subjectMatch(
                pipeline: pipeline, projection: projection, catalog: catalog,
                subjects: unetSubjects, count: count,
                report: TrainCommand.line)
            let all = catalog.trainingSubjects.count
            let chosen = unetSubjects.count < all
            /// "20% among all 1347 training subjects, …": one figure per count, for generations or real scenes.
            func figures(_ c: GenerationQuality.Counts) -> String {
                String(format: "%.0f%% among all %d training subjects, ", c.amongAll * 100, all)
                    + (chosen
                        ? String(
                            format: "%.0f%% among the %d the UNet was trained on, ", c.amongTrained * 100,
                            unetSubjects.count) : "")
                    + String(
                        format: "%.0f%% among the %d evaluated ones", c.amongEvaluated * 100, match.evaluatedSubjects)
            }
            TrainCommand.line(
                "unet: \(count) generations (30 DDIM steps, guidance 5) with their own subject in CLIP's top "
                    + "\(match.k): \(figures(match.generated))"
            )
            TrainCommand.line(
                "unet: the real scenes of the same captions, scored alike (the ceiling): \(figures(match.scenes))")
            try match.comparisonGrid().writePNG(to: URL(fileURLWithPath: grid))
            TrainCommand.line("wrote \(grid)")
            guard inversionSteps > 0 else { return }
            // Default textual inversion on every held-out subject: similarity with the init word alone
            // (step 0) against after `inversionSteps` steps.
            let benchmarkURL = URL(fileURLWithPath: benchmark)
            let subjects = try BenchmarkFile.read(benchmarkURL).map(\.slug)
            let plan = StudyPlan(
                subjects: subjects, strategies: ["uniform"], steps: inversionSteps, every: inversionSteps, seeds: [0])
            let folder = URL(fileURLWithPath: work).appendingPathComponent("measure-inversion")
            let units = try Study.run(plan, benchmark: benchmarkURL, pipeline: pipeline, results: folder) {
                done, total, note in
                if done % 200 == 0 {
                    TrainCommand.line(String(format: "inversion %.0f%%: %@", 100 * Double(done) / Double(total), note))
                }
            }
            let pairs = units.compactMap { unit in
                unit.runs.first.flatMap { run in run.similarity.first.map { ($0, run.similarity.last ?? $0) } }
            }
            let before = pairs.map(\.0).reduce(0, +) / Double(max(pairs.count, 1))
            let after = pairs.map(\.1).reduce(0, +) / Double(max(pairs.count, 1))
            TrainCommand.line(
                String(
                    format:
                        "inversion: CLIP image similarity %.4f with the init word alone, %.4f after %d steps of "
                        + "default textual inversion; %d of %d subjects improved",
                    before, after, inversionSteps, pairs.filter { $0.1 > $0.0 }.count, pairs.count))
        }
    }
}

/// An assembled model, and the subjects its UNet was trained on.
struct ModelOptions: ParsableArguments {
    @Option(help: "The assembled pipeline folder.") var model = "models/gradti-emoji"
    @Option(
        help: ArgumentHelp(
            "The UNet's subject list (default: the model's unet/training_subjects.txt if any, else all training "
                + "subjects).")
    )
    var subjects: String?

    var folder: URL { URL(fileURLWithPath: model) }

    func subjects(_ catalog: EmojiCatalog) throws -> [EmojiSubject] {
        try SubjectList.resolve(path: subjects, folder: folder.appendingPathComponent("unet"), catalog: catalog)
    }
}
