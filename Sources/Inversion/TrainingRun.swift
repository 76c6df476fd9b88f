import Foundation

/// What `train` does besides steps: the measurements it records and when it stops early.
public struct TrainingPlan: Sendable {
    public var steps: Int
    /// Record the evaluation loss (and CLIP image similarity when `similarity`) every K steps; 0: never.
    public var measureEvery: Int
    public var similarity: Bool
    /// DVAR (Voronov et al., 2023): stop once var(last `window` evaluation losses) < eps · var(all).
    public var dvar: (window: Int, eps: Double)?
    /// Saves of the session and embedding as the run goes.
    public var autosave: Autosave?

    public init(
        steps: Int, measureEvery: Int = 0, similarity: Bool = false, dvar: (window: Int, eps: Double)? = nil,
        autosave: Autosave? = nil
    ) {
        self.steps = steps
        self.measureEvery = measureEvery
        self.similarity = similarity
        self.dvar = dvar
        self.autosave = autosave
    }
}

/// What a `train` call did.
public struct TrainingSummary: Sendable {
    public var steps: Int
    public var stoppedEarly: Bool
    public var meanLoss: Double
    public var secondsPerStep: Double
}

extension InversionSession {
    /// Runs up to `plan.steps` steps, recording measurements as the plan says. `progress(done,
    /// note)` follows each step ("step 12, loss 0.1234, t = 401, eval 0.0987"). `poll` is called
    /// between steps, inside them and at each denoising step of a similarity measurement; when it
    /// throws (an interrupt), the step in progress is dropped whole and the error is rethrown, so
    /// the session holds only whole steps.
    public func train(
        _ plan: TrainingPlan, poll: @escaping () throws -> Void, progress: (_ done: Int, _ note: String) -> Void
    ) throws -> TrainingSummary {
        let every = plan.measureEvery
        if every > 0 && evaluationHistory.isEmpty { try recordEvaluation() }
        let pollStep: (Int) throws -> Void = { _ in try poll() }
        if every > 0 && plan.similarity && similarityHistory.isEmpty { try recordSimilarity(onStep: pollStep) }
        var done = 0
        var stoppedEarly = false
        for _ in 0..<plan.steps {
            let record = try step(shouldStop: poll)
            done += 1
            var note = String(
                format: "step %d, loss %.4f, t = %@", record.step, record.loss,
                record.timesteps.map(String.init).joined(separator: ","))
            if every > 0 && record.step % every == 0 {
                note += String(format: ", eval %.4f", try recordEvaluation())
                if plan.similarity {
                    note += String(format: ", similarity %.4f", try recordSimilarity(onStep: pollStep).value)
                }
                if let dvar = plan.dvar, dvarSaysStop(window: dvar.window, eps: dvar.eps) {
                    stoppedEarly = true
                }
            }
            if let saved = try plan.autosave?.afterStep(self) { note += ", saved \(saved.lastPathComponent)" }
            progress(done, note)
            if stoppedEarly { break }
        }
        let recent = history.suffix(done)
        let count = Double(max(recent.count, 1))
        return TrainingSummary(
            steps: done, stoppedEarly: stoppedEarly, meanLoss: recent.map { Double($0.loss) }.reduce(0, +) / count,
            secondsPerStep: recent.map(\.seconds).reduce(0, +) / count)
    }

    /// The training history as CSV: one row per step with the loss, the sampled timesteps and
    /// their conditioning-gradient norms (samples of g(t), Eq. 4's and the MSE's), and the step's time.
    public func metricsCSV() -> String {
        var lines = ["step,loss,timesteps,g_norm,g_mse,seconds"]
        for r in history {
            let timesteps = r.timesteps.map(String.init).joined(separator: " ")
            func norms(_ g: GradientDefinition) -> String {
                r.gradientNorms.map { String(format: "%.6g", $0.value(g)) }.joined(separator: " ")
            }
            lines.append(
                "\(r.step),\(r.loss),\(timesteps),\(norms(.norm)),\(norms(.mse)),\(String(format: "%.4f", r.seconds))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
