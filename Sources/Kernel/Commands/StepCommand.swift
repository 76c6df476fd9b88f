import Diffusion
import Foundation
import Inversion
import Jupyter
import Numerics

/// Training: `step N`.
extension SessionCommands {
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
        guard let n = call.value("N").flatMap(Int.init) else { throw CommandError("`step` needs N, a whole number") }
        // The evaluation loss costs a forward pass: measured only for DVAR or when asked for.
        let useDvar = try call.option("stop") == "dvar"
        let plan = TrainingPlan(
            steps: n, measureEvery: try call.givenInt("every") ?? (useDvar ? 1 : session.measurement.every),
            similarity: session.measuresSimilarity,
            dvar: useDvar ? (try call.int("window"), try call.double("eps")) : nil,
            autosave: context.workspace.autosave)
        let start = session.stepCount
        try context.withProgress(
            "step", total: n,
            interrupted: {
                "interrupted after \(session.stepCount - start) of \(n) steps (step \(session.stepCount)); the "
                    + "session is consistent"
            }
        ) { progress in
            let summary = try session.train(plan, poll: { try context.checkCancellation() }) { done, note in
                progress.update(done, note: note)
            }
            let measured =
                (session.evaluationHistory.last.map { String(format: ", evaluation loss %.4f", $0.loss) } ?? "")
                + (session.similarityHistory.last.map { String(format: ", similarity %.4f", $0.value) } ?? "")
            progress.finish(
                String(
                    format: "%d steps (now %d): mean loss %.4f%@, %.2f s/step", summary.steps, session.stepCount,
                    summary.meanLoss, measured, summary.secondsPerStep)
                    + (summary.stoppedEarly ? "; stopped early: DVAR says the evaluation loss has settled" : ""))
        }
    }
}
