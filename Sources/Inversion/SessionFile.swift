import Diffusion
import Foundation
import Numerics

/// A whole session in one safetensors file: the vectors, AdamW's moments, the concept's prepared
/// images, the step, the random state, the strategy with its g(t) estimates, the settings and the
/// histories. Written under a temporary name and renamed, so a crash never leaves half a file.
extension InversionSession {
    public func saveSession(to url: URL) throws {
        guard let concept else { throw InversionError.noConcept }
        guard let first = concept.images.first, concept.images.allSatisfy({ $0.width == first.width && $0.height == first.height }) else {
            throw InversionError("\(concept.placeholder) came from an embedding file and has no images, so there is no session to save; `save embedding FILE` keeps its vectors")
        }
        let state = try captureState()
        let history = state.history, evaluationHistory = state.evaluation, similarityHistory = state.similarity
        let images = Tensor(Array(concept.images.map(\.pixels).joined()),
                            shape: [concept.images.count, 3, first.height, first.width])
        var tensors: [(String, SafeTensors.Value)] = [
            ("vectors", .float(state.vectors, .f32)), ("adam.m", .float(state.adam.first, .f32)), ("adam.v", .float(state.adam.second, .f32)),
            ("concept.images", .float(images, .f32)),
            ("history.loss", .float(Tensor(history.map(\.loss), shape: [history.count]), .f32)),
            ("history.seconds", .float(Tensor(history.map { Float($0.seconds) }, shape: [history.count]), .f32)),
            ("history.timesteps", .indices(IndexTensor(history.flatMap(\.timesteps), shape: [history.flatMap(\.timesteps).count]), .i64)),
            ("history.norms", .float(Tensor(history.flatMap { $0.gradientNorms.map(Float.init) }, shape: [history.flatMap(\.gradientNorms).count]), .f32)),
            ("history.batch", .indices(IndexTensor(history.map(\.timesteps.count), shape: [history.count]), .i64)),
            ("evaluation.step", .indices(IndexTensor(evaluationHistory.map(\.step), shape: [evaluationHistory.count]), .i64)),
            ("evaluation.loss", .float(Tensor(evaluationHistory.map(\.loss), shape: [evaluationHistory.count]), .f32)),
            ("similarity.step", .indices(IndexTensor(similarityHistory.map(\.step), shape: [similarityHistory.count]), .i64)),
            ("similarity.value", .float(Tensor(similarityHistory.map { Float($0.value) }, shape: [similarityHistory.count]), .f32)),
            ("random.state", .indices(IndexTensor(state.random.map { Int(bitPattern: UInt($0)) }, shape: [8]), .i64)),
        ]
        let estimates = sampler.estimates.map { $0.map(Float.init) ?? .nan }
        tensors.append(("sampler.estimates", .float(Tensor(estimates, shape: [estimates.count]), .f32)))
        var metadata: [String: String] = [
            "format": "gradti-session-2", "concept.name": concept.name, "concept.kind": concept.kind.rawValue,
            "concept.vectors": "\(concept.tokens.count)", "step": "\(state.stepCount)", "adam.step": "\(state.adam.step)",
            "strategy": Self.encode(sampler.strategy), "strategy.allowed": "\(sampler.allowed.lowerBound) \(sampler.allowed.upperBound)",
            "settings": "\(settings.learningRate) \(settings.batch) \(settings.weightDecay) \(settings.seed) \(settings.importanceWeighting)",
            "model.width": "\(pipeline.textEncoder.config.hiddenSize)",
        ]
        if concept.kind == .captions {
            metadata["concept.captions"] = String(decoding: try JSONEncoder().encode(concept.captions), as: UTF8.self)
        }
        try SafeTensors.write(tensors, metadata: metadata, to: url)
    }

    public func loadSession(from url: URL) throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(url) } catch { throw InversionError(String(describing: error)) }
        let meta = file.metadata
        if meta["format"] == "gradti-session-1" {
            throw InversionError("\(url.path) was saved by an older gradti (format 1, without the timestep generator's state); it cannot be resumed exactly")
        }
        guard meta["format"] == "gradti-session-2" else {
            throw InversionError("\(url.path) is not a gradti session file (save one with `save session FILE`)")
        }
        guard meta["model.width"] == "\(pipeline.textEncoder.config.hiddenSize)" else {
            throw InversionError("\(url.path) was saved with a text encoder of width \(meta["model.width"] ?? "?"); load that model first")
        }
        func number(_ key: String) throws -> Int {
            guard let text = meta[key], let value = Int(text) else { throw InversionError("\(url.path): metadata \(key) is missing or not a number") }
            return value
        }
        do {
            let pictures = try file.tensor("concept.images")
            guard pictures.shape.count == 4, pictures.shape[1] == 3, pictures.shape[0] >= 1 else {
                throw InversionError("\(url.path): concept.images has shape \(pictures.shape), not [images, 3, height, width]")
            }
            let (k, h, w) = (pictures.shape[0], pictures.shape[2], pictures.shape[3])
            let images = (0..<k).map { i in Image(width: w, height: h, pixels: Array(pictures.scalars[(i * 3 * h * w)..<((i + 1) * 3 * h * w)])) }
            guard let kind = ConceptKind(rawValue: meta["concept.kind"] ?? ConceptKind.object.rawValue) else {
                throw InversionError("\(url.path): metadata concept.kind is \(meta["concept.kind"] ?? ""), not one of \(ConceptKind.allCases.map(\.rawValue).joined(separator: ", ")); was it saved by a newer gradti?")
            }
            var captions: [[String]] = []
            if kind == .captions {
                guard let json = meta["concept.captions"], let decoded = try? JSONDecoder().decode([[String]].self, from: Data(json.utf8)) else {
                    throw InversionError("\(url.path): metadata concept.captions is missing or malformed; the file is damaged: make the concept again with `concept NAME from IMAGES…`")
                }
                captions = decoded
            }
            let concept = try Concept.make(name: meta["concept.name"] ?? "concept", images: images, kind: kind, captions: captions,
                                           vectors: try number("concept.vectors"), pipeline: pipeline)
            let parts = (meta["settings"] ?? "").split(separator: " ").map(String.init)
            guard parts.count == 5 else { throw InversionError("\(url.path): metadata settings is malformed") }
            var restored = Settings()
            restored.learningRate = Float(parts[0]) ?? restored.learningRate
            restored.batch = Int(parts[1]) ?? restored.batch
            restored.weightDecay = Float(parts[2]) ?? restored.weightDecay
            restored.seed = UInt64(parts[3]) ?? restored.seed
            restored.importanceWeighting = parts[4] == "true"
            try restored.validate()
            let vectors = try file.tensor("vectors")
            let strategy = try Self.decode(meta["strategy"] ?? "")
            // High-grad's interval came from a profile: restore the interval itself.
            let allowed = (meta["strategy.allowed"] ?? "").split(separator: " ").compactMap { Int($0) }
            var restoredSampler: TimestepSampler
            if case .highGrad = strategy, allowed.count == 2, allowed[0] < allowed[1] {
                restoredSampler = try TimestepSampler(strategy, trainSteps: pipeline.schedule.trainSteps,
                                                      profile: [(t: allowed[0], mean: 1)])
                restoredSampler.restore(allowed: allowed[0]..<allowed[1])
            } else {
                restoredSampler = try TimestepSampler(strategy, trainSteps: pipeline.schedule.trainSteps)
            }
            let estimates = try file.tensor("sampler.estimates").scalars
            restoredSampler.restore(estimates: estimates.map { $0.isNaN ? nil : Double($0) })

            let losses = try file.tensor("history.loss").scalars, seconds = try file.tensor("history.seconds").scalars
            let batches = try file.indices("history.batch").values, timesteps = try file.indices("history.timesteps").values
            let norms = try file.tensor("history.norms").scalars
            guard losses.count == batches.count, seconds.count == batches.count, batches.allSatisfy({ $0 >= 0 }),
                  batches.reduce(0, +) == timesteps.count, timesteps.count == norms.count else {
                throw InversionError("\(url.path): the step history's tensors do not fit together (a damaged file?)")
            }
            var records: [StepRecord] = [], offset = 0
            for (i, size) in batches.enumerated() {
                records.append(StepRecord(step: i + 1, loss: losses[i], timesteps: Array(timesteps[offset..<(offset + size)]),
                                          gradientNorms: norms[offset..<(offset + size)].map(Double.init), seconds: Double(seconds[i])))
                offset += size
            }
            let evaluation = zip(try file.indices("evaluation.step").values, try file.tensor("evaluation.loss").scalars).map { (step: $0, loss: $1) }
            let similarity = zip(try file.indices("similarity.step").values, try file.tensor("similarity.value").scalars)
                .map { (step: $0, value: Double($1)) }
            let state = TrainingState(vectors: vectors, adam: (try number("adam.step"), try file.tensor("adam.m"), try file.tensor("adam.v")),
                                      settings: restored, sampler: restoredSampler, stepCount: try number("step"), history: records,
                                      evaluation: evaluation, similarity: similarity,
                                      random: try file.indices("random.state").values.map { UInt64(bitPattern: Int64($0)) })
            try restoreState(state, concept: concept)
        } catch let error as InversionError { throw error } catch {
            throw InversionError("\(url.path): \(error)")
        }
    }

    static func encode(_ strategy: TimestepStrategy) -> String {
        switch strategy {
        case .range(let a, let b): return "range \(a) \(b)"
        case .single(let t): return "single \(t)"
        case .adaptive(let bins, let floor, let ema): return "adaptive \(bins) \(floor) \(ema)"
        case .highGrad(let width): return "highgrad \(width)"
        }
    }

    static func decode(_ text: String) throws -> TimestepStrategy {
        let p = text.split(separator: " ").map(String.init)
        switch (p.first, p.count) {
        case ("range", 3): if let a = Int(p[1]), let b = Int(p[2]) { return .range(a, b) }
        case ("single", 2): if let t = Int(p[1]) { return .single(t) }
        case ("adaptive", 4): if let b = Int(p[1]), let f = Double(p[2]), let e = Double(p[3]) { return .adaptive(bins: b, floor: f, ema: e) }
        case ("highgrad", 2): if let w = Int(p[1]) { return .highGrad(width: w) }
        default: break
        }
        throw InversionError("unknown strategy \"\(text)\" in the session file")
    }
}
