import ArgumentParser
import Diffusion
import Foundation
import Graphics
import Inversion
import Kernel

/// `gradti invert`: the kernel's `concept` + `strategy` + `step` + `save`, unattended (nohup-able, on a
/// cluster): a folder of photos in, an embedding file out; Ctrl-C or SIGTERM saves what the finished
/// steps learned; `--resume` continues bit for bit.
struct InvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invert",
        abstract: "Learn a concept's embedding from a folder of photos, unattended (Ctrl-C saves; --resume goes on).",
        discussion: """
            Writes the embedding (diffusers' and A1111's format, for `load_textual_inversion`) to --output and the \
            whole session (vectors, AdamW's moments, the random state, the histories) beside it, at the end and \
            when stopped by Ctrl-C (SIGINT) or SIGTERM; an interrupted step is dropped whole. A second Ctrl-C quits \
            at once without saving. --resume SESSION continues where the session stopped, to --steps in all, \
            drawing the same images, noise and timesteps as an uninterrupted run. Progress: a live line on a \
            terminal, one log line every --log-every steps otherwise. Exit status: 0 when done, 130 after SIGINT, \
            143 after SIGTERM (the files are saved in both cases).

            Example: gradti invert --images photos/dog --token my-dog --init dog --steps 2000 \
            --output my-dog.safetensors --strategy adaptive --autosave-every 200
            """)

    @Option(help: "A pipeline folder (diffusers' layout); the embedded model by default.") var model: String?
    @Option(help: "diffusers' weight variant of the model, e.g. fp16, where a component has it.") var variant: String?
    @Option(
        parsing: .upToNextOption,
        help: "The concept's images: a folder of them or files (PNG, JPEG, WebP, any size); not with --resume.")
    var images: [String] = []
    @Option(help: "The concept's name: its token is <NAME> (not with --resume).") var token: String?
    @Option(
        name: .customLong("init"),
        help: "The word the vectors start from (default: object); a phrase: one token a vector, in order.")
    var initWord: String?
    @Option(help: "How many vectors (tokens) to learn (default: 1).") var vectors: Int?
    @Option(help: "object, style or captions (default: captions when every image has IMAGE.txt, else object).")
    var kind: String?
    @Option(help: "An A1111 template file ([name], [filewords]) making each image's captions.") var templates: String?
    @Option(help: "center (the centre square, encoded once) or random (a random square at each step).")
    var crop: String?
    @Option(help: "The chance that a training image is mirrored (default 0.5, or 0 with captions).") var flip: Double?
    @Option(help: "The training side, below the model's native size to save time (SD: a multiple of 64 from 128).")
    var resolution: Int?
    @Option(help: "The run's steps in all: a resumed run goes on to this count.") var steps: Int
    @Option(help: "The embedding file to write (.safetensors).") var output: String
    @Option(help: "The session file (default: OUTPUT's name ending in .session.safetensors).") var session: String?
    @Option(help: "Resume from a session file (gradti's, or an autosave); given options change its settings.")
    var resume: String?

    @Option(
        help: ArgumentHelp(
            "The timestep strategy, as `study` names them: uniform, A-B, tT, adaptive, highgrad, highgrad-model, "
                + "tpeak, with -norm/-mse/-jacobian for g (default: uniform; adaptive and highgrad profile first)."))
    var strategy: String?
    @Option(help: "Learning rate (default 0.005).") var lr: Float?
    @Option(help: "Images per step (default 1).") var batch: Int?
    @Option(help: "Seed of images, prompts, noise and timesteps (default 0).") var seed: Int?
    @Option(
        help: ArgumentHelp(
            "Learning-rate schedule: \(LearningRateSchedule.names.joined(separator: ", ")) (default constant)."))
    var schedule: String?
    @Option(help: "Warm-up steps of the schedule (default 0).") var warmup: Int?
    @Option(help: "cosine_restarts: the number of cycles.") var cycles = 1
    @Option(help: "polynomial: the power.") var power = 1.0
    @Option(help: "Batches whose gradients are averaged into one step (default 1).") var accumulate: Int?
    @Option(help: "Clip the vectors' gradient to this L2 norm (default: off).") var clip: Double?
    @Option(help: "Min-SNR-γ loss weighting (5 is usual; default: off).") var minSnr: Double?
    @Flag(help: "Multiply lr by batch × accumulate, as diffusers' --scale_lr.") var scaleLr = false

    @Option(help: "Save the session and the embedding every K steps (0: only at the end).") var autosaveEvery = 0
    @Option(help: "Autosaves kept (the last N).") var keep = 3
    @Option(help: "Autosave folder (default: OUTPUT's name ending in -autosave).") var autosaveFolder: String?
    @Option(help: "Without a terminal, a log line every K steps.") var logEvery = 10

    func validate() throws {
        if resume != nil {
            let given = [
                ("--images", !images.isEmpty), ("--token", token != nil), ("--init", initWord != nil),
                ("--vectors", vectors != nil), ("--kind", kind != nil), ("--crop", crop != nil),
                ("--flip", flip != nil), ("--resolution", resolution != nil), ("--templates", templates != nil)
            ].filter(\.1).map(\.0)
            guard given.isEmpty else {
                throw ValidationError(
                    "\(given.joined(separator: ", ")) cannot change a resumed session's concept: leave "
                        + (given.count == 1 ? "it" : "them") + " out with --resume")
            }
        } else {
            guard !images.isEmpty, token != nil else {
                throw ValidationError("a new run needs --images (a folder of photos) and --token NAME; or --resume")
            }
        }
        guard (1...10_000_000).contains(steps) else { throw ValidationError("--steps must be 1 to 10,000,000") }
        guard autosaveEvery >= 0, (1...1000).contains(keep), logEvery >= 1 else {
            throw ValidationError("--autosave-every must be at least 0, --keep 1 to 1000, --log-every at least 1")
        }
        guard output.hasSuffix(".safetensors") else {
            throw ValidationError("--output is a .safetensors file (the embedding), not \(output)")
        }
    }

    func run() throws {
        let stop = StopSignals.install()
        let pipeline = try StableDiffusionPipeline(
            folder: model.map { URL(fileURLWithPath: $0) } ?? Installation.defaultModelFolder(), variant: variant)
        let run = InversionSession(pipeline: pipeline)
        run.modelProfile = try ModelProfile.stored(in: pipeline.folder)
        let outputURL = URL(fileURLWithPath: output)
        let stem = String(output.dropLast(".safetensors".count))
        let sessionURL = URL(fileURLWithPath: session ?? stem + ".session.safetensors")
        if let resume {
            try run.loadSession(from: URL(fileURLWithPath: resume))
            try run.configure(try settings(from: run.settings, resuming: true))
            say("resumed \(resume) at step \(run.stepCount)")
        } else {
            try run.configure(try settings(from: run.settings, resuming: false))
            let files = try images.flatMap(imageFiles)
            try run.setConcept(
                name: token ?? "", images: files, initWord: initWord ?? "object", vectors: vectors ?? 1,
                kind: try kind.map(conceptKind), templates: templates.map { URL(fileURLWithPath: $0) },
                preparation: try preparation(), shouldStop: { try stop.check() })
        }
        guard let concept = run.concept else { return }
        if let strategy { try setStrategy(strategy, on: run, stop: stop) }
        let T = pipeline.schedule.trainSteps
        say(
            "\(concept.placeholder) from \(concept.images.count) images (\(concept.kind.rawValue), "
                + "\(concept.preparation.summary)), strategy "
                + "\(run.sampler.strategy.shortName(trainSteps: T)), lr \(run.settings.learningRate) batch "
                + "\(run.settings.batch) seed \(run.settings.seed), \(run.settings.knobs.summary); steps "
                + "\(run.stepCount) → \(steps); Ctrl-C stops and saves")
        let autosave =
            autosaveEvery > 0
            ? Autosave(
                every: autosaveEvery, keep: keep, folder: URL(fileURLWithPath: autosaveFolder ?? stem + "-autosave"))
            : nil
        let remaining = max(steps - run.stepCount, 0)
        let progress = RunProgress(total: remaining, first: run.stepCount, logEvery: logEvery)
        var stopped: Int32?
        do {
            _ = try run.train(TrainingPlan(steps: remaining, autosave: autosave), poll: { try stop.check() }) {
                done, note in progress.update(done, note: note)
            }
        } catch let signal as StopSignals.Stopped {
            stopped = signal.number
        }
        progress.end()
        try run.saveEmbedding(to: outputURL)
        try run.saveSession(to: sessionURL)
        let summary = "step \(run.stepCount) of \(steps): wrote \(output) and \(sessionURL.relativePath)"
        guard let stopped else {
            say("done, \(summary)")
            return
        }
        say(
            "stopped by \(stopped == SIGTERM ? "SIGTERM" : "SIGINT") at \(summary); go on with: gradti invert "
                + "--resume \(sessionURL.relativePath) --steps \(steps) --output \(output)"
                + (model.map { " --model \($0)" } ?? ""))
        throw ExitCode(128 + stopped)
    }

    /// The session's settings with the options given on the command line (all of them, with their
    /// defaults, for a new run; only those given when resuming).
    func settings(from current: InversionSession.Settings, resuming: Bool) throws -> InversionSession.Settings {
        var settings = current
        if let lr { settings.learningRate = lr }
        if let batch { settings.batch = batch }
        if let seed {
            guard seed >= 0 else { throw ValidationError("--seed must be at least 0") }
            settings.seed = UInt64(seed)
        }
        var knobs = settings.knobs
        if let schedule {
            knobs.schedule = try LearningRateSchedule(name: schedule, cycles: cycles, power: power)
            // A schedule spans the run (diffusers' lr_scheduler over max_train_steps).
            if knobs.schedule != .constant { knobs.horizon = steps }
        }
        if let warmup { knobs.warmup = warmup }
        if let accumulate { knobs.accumulate = accumulate }
        if let clip { knobs.clipNorm = clip > 0 ? clip : nil }
        if let minSnr { knobs.minSNRGamma = minSnr > 0 ? minSnr : nil }
        if scaleLr { knobs.scaleLR = true }
        settings.knobs = knobs
        try settings.validate()
        return settings
    }

    /// Strategies that pick from g(t) start from a profile of this concept, measured first (as `study`
    /// does), unless they pick from the model's.
    func setStrategy(_ name: String, on run: InversionSession, stop: StopSignals) throws {
        let T = run.pipeline.schedule.trainSteps
        let chosen = try TimestepStrategy(shortName: name, trainSteps: T)
        var fromModel = false
        if case .highGrad(_, _, .model) = chosen { fromModel = true }
        if let g = chosen.gradientDefinition, !fromModel, run.lastProfile(g).isEmpty {
            let timesteps = Array(stride(from: 0, to: T, by: max(T / 20, 1)))
            let name = chosen.shortName(trainSteps: T)
            say("profiling g(t) at \(timesteps.count) timesteps first (\(name) picks from it)")
            let measured = try run.profile(
                timesteps: timesteps, samples: 2, probes: g == .jacobian ? run.settings.probes : 0,
                onPoint: { _ in try stop.check() })
            run.recordProfile(measured, label: "before training")
        }
        try run.setStrategy(chosen)
    }

    func imageFiles(_ path: String) throws -> [URL] {
        let url = URL(fileURLWithPath: path)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ValidationError("no such file or folder: \(path)")
        }
        guard isFolder.boolValue else { return [url] }
        let files = try ImageFile.imageFiles(inFolder: url)
        guard !files.isEmpty else { throw ValidationError("the folder \(path) holds no image files (PNG, JPEG, WebP)") }
        return files
    }

    func preparation() throws -> ConceptPreparation {
        var preparation = ConceptPreparation(flip: flip, resolution: resolution)
        if let crop {
            guard let chosen = ConceptPreparation.Crop(rawValue: crop) else {
                throw ValidationError("--crop is center or random, not \(crop)")
            }
            preparation.crop = chosen
        }
        return preparation
    }

    func conceptKind(_ name: String) throws -> ConceptKind {
        guard let kind = ConceptKind(rawValue: name) else {
            throw ValidationError(
                "--kind is one of \(ConceptKind.allCases.map(\.rawValue).joined(separator: ", ")), not \(name)")
        }
        return kind
    }

    func say(_ line: String) { writeLine("gradti invert: \(line)") }
}
