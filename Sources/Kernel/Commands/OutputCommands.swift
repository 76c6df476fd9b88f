import Diffusion
import Foundation
import Graphics
import Inversion
import Jupyter
import Numerics

/// The commands that produce files: generated images, saved embeddings and sessions, exported metrics.
extension SessionCommands {
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
        let (n, steps, seed) = (try call.int("n"), try call.int("steps"), try call.int("seed"))
        let (guidance, negative) = (Float(try call.double("cfg")), try call.option("negative"))
        let prompt = call.value("PROMPT") ?? ""
        try session.checkPlaceholders(in: [prompt, negative])
        // As diffusers does, say what the text encoder will not read.
        let tokenizer = session.pipeline.tokenizer
        let room = tokenizer.promptCapacity
        for (what, text) in [("prompt", prompt), ("negative prompt", negative)] {
            let encoding = tokenizer.encode(text)
            guard encoding.truncated else { continue }
            let cut = tokenizer.decode(encoding.tokens[room...])
            context.io.stream(
                "warning: the \(what) has \(encoding.tokens.count) tokens and the text encoder reads \(room); this "
                    + "end is cut: \"\(cut)\"\n",
                to: .stderr)
        }
        let (images, saved) = try context.withProgress(
            "generate", total: steps, interrupted: { "generation interrupted" }
        ) { progress in
            let images = try session.generate(
                prompt: prompt, count: n, steps: steps, guidance: guidance, seed: UInt64(seed), negative: negative
            ) { index in
                progress.update(index + 1)
                try context.checkCancellation()
            }
            let urls = try context.workspace.newOutputs(suffixes: images.indices.map { "-seed\(seed)-\($0).png" })
            for (image, url) in zip(images, urls) {
                do { try image.writePNG(to: url) } catch {
                    throw CommandError("cannot save \(displayPath(url)): \(error)")
                }
            }
            let saved = urls.map(displayPath)
            progress.finish(
                "generated \(n) image(s) in \(steps) steps; saved "
                    + "\(saved.first ?? "")\(n > 1 ? " … \(saved.last ?? "")" : "")")
            return (images, saved)
        }
        // Small models' images are shown enlarged (nearest neighbour keeps them sharp), each labelled.
        let grid = Canvas.labelledGrid(
            images, labels: images.indices.map { "seed \(seed) #\($0 + 1)" }, columns: min(n, 4))
        context.io.display(
            [
                "image/png": .string(try encoded(grid).base64EncodedString()),
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
        if call.value("WHAT") == "session" {
            try session.saveSession(to: url)
        } else {
            try session.saveEmbedding(to: url)
        }
        context.io.stream(
            "saved \(call.value("WHAT") ?? "") \(session.concept?.placeholder ?? "") to \(displayPath(url))\n")
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
        let url = try outputPath(call.value("PATH") ?? "")
        try FileAccess.writeAtomically(session.metricsCSV(), to: url)
        context.io.stream("wrote \(session.history.count) steps to \(displayPath(url))\n")
    }

    /// The grid's PNG bytes, or an error that says what failed.
    static func encoded(_ grid: Image) throws -> Data {
        do { return try grid.pngData() } catch { throw CommandError("cannot encode the grid: \(error)") }
    }
}
