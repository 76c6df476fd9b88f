import Numerics

/// Everything that changes while a session trains: what `save session` writes and what `compare`
/// sets aside and puts back. The concept and the pipeline are not part of it.
struct TrainingState {
    var vectors: Tensor
    var adam: (step: Int, first: Tensor, second: Tensor)
    var settings: InversionSession.Settings
    var sampler: TimestepSampler
    var stepCount: Int
    var history: [StepRecord]
    var evaluation: [(step: Int, loss: Float)]
    var similarity: [(step: Int, value: Double)]
    /// The data generator's state, then the timestep generator's (4 words each).
    var random: [UInt64]
}

extension InversionSession {
    /// A copy of the training state (nothing in it is shared with the live session).
    func captureState() throws -> TrainingState {
        guard let vectors, let optimizer else { throw InversionError.noConcept }
        let (step, first, second) = optimizer.moments
        return TrainingState(
            vectors: vectors.detached().copy(), adam: (step, first[0].copy(), second[0].copy()),
            settings: settings, sampler: sampler, stepCount: stepCount, history: history,
            evaluation: evaluationHistory, similarity: similarityHistory,
            random: generator.state + timestepGenerator.state)
    }

    /// Puts a training state back, with a new concept or the current one, which the vectors must fit.
    /// Nothing changes when it throws.
    func restoreState(_ state: TrainingState, concept newConcept: Concept? = nil) throws {
        guard let concept = newConcept ?? concept else { throw InversionError.noConcept }
        guard state.vectors.shape == [concept.tokens.count, pipeline.textEncoder.tokenWidth],
            state.adam.first.shape == state.vectors.shape, state.adam.second.shape == state.vectors.shape,
            state.random.count == 8
        else {
            throw InversionError("the saved state does not fit this model and concept")
        }
        try state.settings.validate()
        if let newConcept {
            self.concept = newConcept
            evaluationItems = nil
            conceptImageEmbeddings = nil
        }
        let learned = state.vectors.copy()
        learned.requiresGrad = true
        vectors = learned
        settings = state.settings
        sampler = state.sampler
        resetOptimizer()
        optimizer?.restore(step: state.adam.step, first: [state.adam.first], second: [state.adam.second])
        stepCount = state.stepCount
        history = state.history
        evaluationHistory = state.evaluation
        similarityHistory = state.similarity
        generator.state = Array(state.random[0..<4])
        timestepGenerator.state = Array(state.random[4..<8])
    }
}
