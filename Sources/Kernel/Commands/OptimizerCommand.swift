import Foundation
import Inversion

/// `optimizer`: AdamW's settings and the knobs of each step (schedule, accumulation, clipping, Min-SNR).
extension SessionCommands {
    static let optimizerReset = CommandSpec(
        "reset",
        summary: "Start the optimisation over from the current vectors: fresh AdamW moments, generators reseeded."
    ) { _, context in
        let session = try context.workspace.requireSession()
        session.startOver()
        context.io.stream(
            "optimizer: fresh AdamW moments; images, noise and timesteps drawn again from seed "
                + "\(session.settings.seed)\n"
        )
    }

    static let optimizer = CommandSpec(
        "optimizer",
        summary: "Set AdamW's learning rate and its schedule, the batch, accumulation, clipping and the seed.",
        details:
            "Only the placeholder vectors are optimised; every other embedding row stays as it is. Defaults follow "
            + "the original textual inversion (lr 5e-3) with diffusers' weight decay 1e-2. Changing a setting (or "
            + "the strategy) in the middle of a run keeps AdamW's moments and the data and timestep generators; a "
            + "new seed reseeds the generators; `optimizer reset` starts over. `info` lists each change and its step.",
        options: [
            OptionSpec("lr", .number(1e-8...10), note: "unchanged (initially 0.005)", help: "learning rate"),
            OptionSpec("batch", .integer(1...64), note: "unchanged (initially 1)", help: "images per step"),
            OptionSpec(
                "weight_decay", .number(0...1), note: "unchanged (initially 0.01)", help: "decoupled weight decay"),
            OptionSpec(
                "seed", .integer(0...Int(Int32.max)), note: "unchanged (initially 0)",
                help: "seed for images, prompts, noise and timesteps"),
            OptionSpec(
                "schedule", .choice(LearningRateSchedule.names),
                note: "unchanged (initially constant)", help: "the learning-rate schedule (diffusers' get_scheduler)"),
            OptionSpec("warmup", .integer(0...10_000_000), note: "unchanged (initially 0)", help: "warm-up steps"),
            OptionSpec(
                "horizon", .integer(0...10_000_000), note: "unchanged (initially 0)",
                help: "the steps a non-constant schedule spans (counted from the concept's first step)"),
            OptionSpec("cycles", .integer(1...1000), default: "1", help: "cosine_restarts: the number of cycles"),
            OptionSpec("power", .number(0.01...100), default: "1", help: "polynomial: the power"),
            OptionSpec(
                "accumulate", .integer(1...1024), note: "unchanged (initially 1)",
                help: "batches whose gradients are averaged into one step"),
            OptionSpec(
                "clip", .number(0...1e6), note: "unchanged (initially 0: off)",
                help: "clip the vectors' gradient to this L2 norm (0: off)"),
            OptionSpec(
                "min_snr", .number(0...1e6), note: "unchanged (initially 0: off)",
                help: "Min-SNR-γ loss weighting (5 is usual; 0: off)"),
            OptionSpec(
                "scale_lr", .choice(["true", "false"]), note: "unchanged (initially false)",
                help: "multiply lr by batch × accumulate, as diffusers' --scale_lr")
        ],
        examples: [
            "optimizer lr=0.005 batch=4 seed=1", "optimizer schedule=cosine warmup=50 horizon=2000",
            "optimizer accumulate=4 clip=1 min_snr=5", "optimizer reset"
        ],
        subcommands: [optimizerReset]
    ) { call, context in
        let session = try context.workspace.requireSession()
        var settings = session.settings
        if let lr = try call.givenDouble("lr") { settings.learningRate = Float(lr) }
        if let batch = try call.givenInt("batch") { settings.batch = batch }
        if let weightDecay = try call.givenDouble("weight_decay") { settings.weightDecay = Float(weightDecay) }
        if let seed = try call.givenInt("seed") { settings.seed = UInt64(seed) }
        var knobs = settings.knobs
        if let warmup = try call.givenInt("warmup") { knobs.warmup = warmup }
        if let horizon = try call.givenInt("horizon") { knobs.horizon = horizon }
        if let accumulate = try call.givenInt("accumulate") { knobs.accumulate = accumulate }
        if let clip = try call.givenDouble("clip") { knobs.clipNorm = clip > 0 ? clip : nil }
        if let gamma = try call.givenDouble("min_snr") { knobs.minSNRGamma = gamma > 0 ? gamma : nil }
        if let scale = call.givenOption("scale_lr") { knobs.scaleLR = scale == "true" }
        if let schedule = call.givenOption("schedule") {
            knobs.schedule = try LearningRateSchedule(
                name: schedule, cycles: try call.int("cycles"), power: try call.double("power"))
        }
        settings.knobs = knobs
        do { try session.configure(settings) } catch let error as InversionError {
            throw CommandError(error.description + " (for example `optimizer schedule=cosine warmup=50 horizon=2000`)")
        }
        context.io.stream(
            "optimizer: AdamW lr=\(settings.learningRate) batch=\(settings.batch) "
                + "weight_decay=\(settings.weightDecay) seed=\(settings.seed); \(knobs.summary)\n"
        )
    }
}
