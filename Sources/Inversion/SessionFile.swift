import Diffusion
import Foundation
import Numerics

/// A whole session in one safetensors file: the vectors, AdamW's moments, the concept's prepared
/// images, the step, the random state, the strategy with its g(t) estimates, the settings and the
/// histories. Written under a temporary name and renamed, so a crash never leaves half a file.
extension InversionSession {
    public func saveSession(to url: URL) throws {
        guard let concept, let vectors, let optimizer else { throw InversionError("no concept yet: nothing to save") }
        let (adamStep, first, second) = optimizer.moments
        let images = Tensor(Array(concept.images.map(\.pixels).joined()),
                            shape: [concept.images.count, 3, concept.images[0].height, concept.images[0].width])
        var tensors: [(String, SafeTensors.Value)] = [
            ("vectors", .float(vectors.detached(), .f32)), ("adam.m", .float(first[0], .f32)), ("adam.v", .float(second[0], .f32)),
            ("concept.images", .float(images, .f32)),
            ("history.loss", .float(Tensor(history.map(\.loss), shape: [history.count]), .f32)),
            ("history.seconds", .float(Tensor(history.map { Float($0.seconds) }, shape: [history.count]), .f32)),
            ("history.timesteps", .indices(IndexTensor(history.flatMap(\.timesteps), shape: [history.flatMap(\.timesteps).count]), .i64)),
            ("history.norms", .float(Tensor(history.flatMap { $0.gradientNorms.map(Float.init) }, shape: [history.flatMap(\.gradientNorms).count]), .f32)),
            ("history.batch", .indices(IndexTensor(history.map(\.timesteps.count), shape: [history.count]), .i64)),
            ("evaluation.step", .indices(IndexTensor(evaluationHistory.map(\.step), shape: [evaluationHistory.count]), .i64)),
            ("evaluation.loss", .float(Tensor(evaluationHistory.map(\.loss), shape: [evaluationHistory.count]), .f32)),
            ("random.state", .indices(IndexTensor(randomState.map { Int(bitPattern: UInt($0)) }, shape: [4]), .i64)),
        ]
        let estimates = sampler.estimates.map { $0.map(Float.init) ?? .nan }
        tensors.append(("sampler.estimates", .float(Tensor(estimates, shape: [estimates.count]), .f32)))
        let metadata: [String: String] = [
            "format": "gradti-session-1", "concept.name": concept.name, "concept.kind": concept.kind.rawValue,
            "concept.vectors": "\(concept.tokens.count)", "step": "\(stepCount)", "adam.step": "\(adamStep)",
            "strategy": Self.encode(sampler.strategy), "strategy.allowed": "\(sampler.allowed.lowerBound) \(sampler.allowed.upperBound)",
            "settings": "\(settings.learningRate) \(settings.batch) \(settings.weightDecay) \(settings.seed) \(settings.importanceWeighting)",
            "model.width": "\(pipeline.textEncoder.config.hiddenSize)",
        ]
        try SafeTensors.write(tensors, metadata: metadata, to: url)
    }

    public func loadSession(from url: URL) throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(url) } catch { throw InversionError(String(describing: error)) }
        let meta = file.metadata
        guard meta["format"] == "gradti-session-1" else {
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
            let (k, h, w) = (pictures.shape[0], pictures.shape[2], pictures.shape[3])
            let images = (0..<k).map { i in Image(width: w, height: h, pixels: Array(pictures.scalars[(i * 3 * h * w)..<((i + 1) * 3 * h * w)])) }
            let concept = try Concept.make(name: meta["concept.name"] ?? "concept", images: images,
                                           kind: ConceptKind(rawValue: meta["concept.kind"] ?? "") ?? .object,
                                           vectors: try number("concept.vectors"), pipeline: pipeline)
            let parts = (meta["settings"] ?? "").split(separator: " ").map(String.init)
            guard parts.count == 5 else { throw InversionError("\(url.path): metadata settings is malformed") }
            var restored = Settings()
            restored.learningRate = Float(parts[0]) ?? restored.learningRate
            restored.batch = Int(parts[1]) ?? restored.batch
            restored.weightDecay = Float(parts[2]) ?? restored.weightDecay
            restored.seed = UInt64(parts[3]) ?? restored.seed
            restored.importanceWeighting = parts[4] == "true"
            let vectors = try file.tensor("vectors").copy()
            vectors.requiresGrad = true
            let strategy = try Self.decode(meta["strategy"] ?? "")
            // High-grad's interval came from a profile: restore the interval itself.
            let allowed = (meta["strategy.allowed"] ?? "").split(separator: " ").compactMap { Int($0) }
            var restoredSampler: TimestepSampler
            if case .highGrad = strategy, allowed.count == 2 {
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
            var records: [StepRecord] = [], offset = 0
            for (i, size) in batches.enumerated() {
                records.append(StepRecord(step: i + 1, loss: losses[i], timesteps: Array(timesteps[offset..<(offset + size)]),
                                          gradientNorms: norms[offset..<(offset + size)].map(Double.init), seconds: Double(seconds[i])))
                offset += size
            }
            let evaluation = zip(try file.indices("evaluation.step").values, try file.tensor("evaluation.loss").scalars).map { (step: $0, loss: $1) }
            try restore(concept: concept, vectors: vectors, settings: restored, sampler: restoredSampler,
                        adam: (try number("adam.step"), try file.tensor("adam.m"), try file.tensor("adam.v")),
                        step: try number("step"), history: records, evaluation: evaluation,
                        random: try file.indices("random.state").values.map { UInt64(bitPattern: Int64($0)) })
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
