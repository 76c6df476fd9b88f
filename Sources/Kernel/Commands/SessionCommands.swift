import Diffusion
import Foundation
import Inversion
import Jupyter
import Numerics

/// The commands of a textual-inversion session: loading models, embeddings and sessions, and `info`.
/// The others are in ConceptCommands, ProfileCommands, OutputCommands and StepCommand.
enum SessionCommands {
    static let all: [CommandSpec] = [
        load, info, concept, strategy, optimizer, profile, step, autosave, plot, generate, save, export
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
            + "kohya's `emb_params`, or `clip_l`/`clip_g`) beside the concept being learned, usable in prompts and "
            + "negative=; load as many as you like, each under its own token. `load session FILE` "
            + "restores a session saved with `save session` (load its model first).",
        arguments: [
            ArgumentSpec("PATH", .path(extensions: []), count: .optional, help: "a pipeline folder")
        ],
        options: [
            OptionSpec(
                "variant", .text, note: "none",
                help: "diffusers' weight variant, e.g. fp16 (diffusion_pytorch_model.fp16.safetensors), where present")
        ],
        examples: [
            "load", "load models/sd-tiny", "load models/sd15 variant=fp16",
            "load embedding cat-toy.safetensors token=<cat-toy>",
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
        try context.workspace.load(
            folder, variant: call.givenOption("variant"), beforeCommit: { try context.checkCancellation() })
        guard let p = context.workspace.pipeline else { return }
        context.io.stream(
            "loaded \(paths.first ?? "the embedded model (\(folder.lastPathComponent))"): UNet "
                + "\(p.unet.config.blockChannels) at \(p.unet.config.sampleSize)x\(p.unet.config.sampleSize) latents, "
                + "text encoder width \(p.textEncoder.tokenWidth), \(p.schedule.trainSteps) timesteps, "
                + "\(p.schedule.prediction.rawValue) prediction\n")
    }

    static let loadEmbedding = CommandSpec(
        "embedding", summary: "Load learned vectors beside the concept, for prompts and negative=.",
        arguments: [ArgumentSpec("FILE", .path(extensions: ["safetensors"]), help: "the embedding file")],
        options: [OptionSpec("token", .text, note: "the file's own", help: "the placeholder to use")]
    ) { call, context in
        let session = try context.workspace.requireSession()
        let kept = try session.loadEmbedding(
            from: resolvePath(call.value("FILE") ?? ""), token: call.givenOption("token"))
        context.io.stream(
            "loaded \(kept.tokenIDs.count) vector(s) as \(kept.placeholder)"
                + (session.concept.map { ", beside the concept \($0.placeholder)" } ?? "") + "\n")
    }

    static let loadSession = CommandSpec(
        "session", summary: "Restore a session saved with `save session` (load its model first).",
        arguments: [ArgumentSpec("FILE", .path(extensions: ["safetensors"]), help: "the session file")]
    ) { call, context in
        let session = try context.workspace.requireSession()
        try session.loadSession(from: resolvePath(call.value("FILE") ?? ""))
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
        var lines = ["model: \(displayPath(pipeline.folder))"]
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
            "optimizer: AdamW lr=\(s.learningRate) batch=\(s.batch) weight_decay=\(s.weightDecay) seed=\(s.seed); "
                + s.knobs.summary)
        let seconds = session.history.map(\.seconds).reduce(0, +)
        lines.append(
            String(
                format: "steps: %d (%.1f s, %.2f s/step)", session.stepCount, seconds,
                session.stepCount > 0 ? seconds / Double(session.history.count) : 0))
        if let last = session.history.last { lines.append(String(format: "last loss: %.5f", last.loss)) }
        for change in session.changes.suffix(10) { lines.append("after step \(change.step): \(change.change)") }
        if let last = session.evaluationHistory.last {
            lines.append(String(format: "evaluation loss: %.5f (step %d)", last.loss, last.step))
        }
        if let last = session.similarityHistory.last {
            lines.append(String(format: "CLIP image similarity: %.4f (step %d)", last.value, last.step))
        }
        if let last = session.textSimilarityHistory.last {
            lines.append(String(format: "CLIP text similarity (CLIP-T): %.4f (step %d)", last.value, last.step))
        }
        lines.append(
            "measuring: "
                + (session.measurement.every > 0
                    ? "every \(session.measurement.every) steps" : "off (`evaluate every=K`)")
                + (session.evaluator.map { " with \(describe($0))" }
                    ?? "; no image_encoder/, so no CLIP image similarity"))
        if !session.keptEmbeddings.isEmpty {
            lines.append("kept embeddings: " + session.keptEmbeddings.map(\.placeholder).joined(separator: ", "))
        }
        context.io.stream(lines.joined(separator: "\n") + "\n")
    }
}
