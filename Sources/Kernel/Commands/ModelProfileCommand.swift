import Diffusion
import Foundation
import Inversion
import Numerics

/// `profile model`: g(t) of the model from generic concepts, the paper's way of choosing high-grad's
/// interval once per model.
extension SessionCommands {
    static let profileModel = CommandSpec(
        "model",
        summary: "Profile the model itself: g(t) after short inversions of generic concepts (the paper's way).",
        details:
            "The paper picks its high-g interval once per model, from the gradient norm of a model \\\"trained with "
            + "various images\\\" during post-training optimisation. This runs `steps` uniform inversion steps on each "
            + "generic concept, profiles g(t) after them (every definition; the Jacobian with `probes`), and keeps "
            + "the mean over concepts with its spread across them. `strategy highgrad from=model` picks from it. "
            + "The concepts are a folder with one subfolder of images per concept (or a benchmark with "
            + "subjects.json); by default the model's own generic-concepts/ (the embedded model ships subjects its "
            + "UNet was trained on, never the benchmark's held-out ones). The result is kept in the session (and "
            + "saved with it); save=model also writes it into the model folder, where `load` finds it. Its one-off "
            + "cost is reported on its own line.",
        options: [
            OptionSpec("from", .path(extensions: []), note: "the model's generic-concepts/", help: "the concepts"),
            OptionSpec("steps", .integer(0...100_000), default: "100", help: "uniform inversion steps per concept"),
            timestepsOption,
            OptionSpec("samples", .integer(1...1000), default: "4", help: "draws per timestep and concept"),
            gOption(help: "the definition listed first (norm and mse are always measured)"), probesOption,
            OptionSpec(
                "save", .choice(["session", "model"]), default: "session", help: "model: also into the model folder"),
            OptionSpec("seed", .integer(0...Int(Int32.max)), default: "0", help: "seed of the inversions and draws")
        ],
        examples: ["profile model", "profile model steps=50 samples=2 save=model", "profile model from=my-concepts/"]
    ) { call, context in
        let session = try context.workspace.requireSession()
        let pipeline = session.pipeline
        let folder =
            call.givenOption("from").map(resolvePath)
            ?? pipeline.folder.appendingPathComponent(StableDiffusionPipeline.genericConceptsFolder)
        let concepts: [GenericConcept]
        do { concepts = try GenericConcept.read(folder) } catch let error as InversionError {
            throw CommandError(
                error.description
                    + (call.givenOption("from") == nil
                        ? " (this model has no generic-concepts/: name a folder with from=DIR)" : ""))
        }
        let timesteps = try profileTimesteps(call, trainSteps: pipeline.schedule.trainSteps)
        let (steps, samples) = (try call.int("steps"), try call.int("samples"))
        let (g, probes) = try measuredDefinition(call)
        let perConcept = steps + timesteps.count
        let profile = try context.withProgress(
            "profile model", total: concepts.count * perConcept,
            interrupted: { "profile model interrupted; the session is unchanged" }
        ) { progress in
            var done = 0
            let profile = try ModelProfile.measure(
                pipeline: pipeline, concepts: concepts, steps: steps, timesteps: timesteps, samples: samples,
                probes: probes, seed: UInt64(try call.int("seed"))
            ) { _, note in
                if !note.isEmpty {
                    done += 1
                    progress.update(min(done, concepts.count * perConcept), note: note)
                }
                try context.checkCancellation()
            }
            progress.finish("profiled the model with \(concepts.count) generic concepts")
            return profile
        }
        session.modelProfile = profile
        var lines = [
            profileTable(
                Dictionary(
                    uniqueKeysWithValues: GradientDefinition.allCases.compactMap { d in
                        profile.profiles[d.rawValue].map { (d, $0) }
                    }), timesteps: timesteps, first: g, spread: "spread"),
            "(mean over \(concepts.count) concepts after \(steps) uniform steps each; spread: std across concepts)",
            String(
                format: "one-off cost: %d UNet passes, %.1f s (%d concepts x (%d steps + %d timesteps x %d draws%@))",
                profile.passes, profile.seconds, concepts.count, steps, timesteps.count, samples,
                probes > 0 ? " x (1 + \(probes) probes)" : "")
        ]
        if try call.option("save") == "model" {
            let url = pipeline.folder.appendingPathComponent(ModelProfile.fileName)
            try profile.write(to: url)
            lines.append("saved to \(displayPath(url)); `load` of this model picks it up")
        }
        context.io.stream(lines.joined(separator: "\n") + "\n")
    }
}
