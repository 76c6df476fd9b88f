import Diffusion
import Foundation
import Numerics

/// A whole session in one safetensors file: the vectors, AdamW's moments, the concept's prepared
/// images, the step, the random state, the strategy with its g(t) estimates, the settings and the
/// histories. Written under a temporary name and renamed, so a crash never leaves half a file.
extension InversionSession {
    public func saveSession(to url: URL) throws {
        guard let concept else { throw InversionError.noConcept }
        guard !concept.images.isEmpty else {
            throw InversionError(
                "\(concept.placeholder) came from an embedding file and has no images, so there is no session to "
                    + "save; `save embedding FILE` keeps its vectors"
            )
        }
        let state = try captureState()
        let history = state.history
        let evaluationHistory = state.evaluation
        let similarityHistory = state.similarity
        // One tensor; images of several sizes (random crops keep each one's shape) are padded with zeros to
        // the largest, and their sizes kept in the metadata.
        let (height, width) = (concept.images.map(\.height).max() ?? 0, concept.images.map(\.width).max() ?? 0)
        var pixels = [Float](repeating: 0, count: concept.images.count * 3 * height * width)
        for (k, image) in concept.images.enumerated() {
            for c in 0..<3 {
                for y in 0..<image.height {
                    let from = (c * image.height + y) * image.width
                    let to = ((k * 3 + c) * height + y) * width
                    pixels.replaceSubrange(to..<(to + image.width), with: image.pixels[from..<(from + image.width)])
                }
            }
        }
        let images = Tensor(pixels, shape: [concept.images.count, 3, height, width])
        var tensors: [(String, SafeTensors.Value)] = [
            ("vectors", .float(state.vectors, .f32)), ("adam.m", .float(state.adam.first, .f32)),
            ("adam.v", .float(state.adam.second, .f32)),
            ("concept.images", .float(images, .f32)),
            ("history.loss", .float(Tensor(history.map(\.loss), shape: [history.count]), .f32)),
            ("history.seconds", .float(Tensor(history.map { Float($0.seconds) }, shape: [history.count]), .f32)),
            (
                "history.timesteps",
                .indices(IndexTensor(history.flatMap(\.timesteps), shape: [history.flatMap(\.timesteps).count]), .i64)
            ),
            (
                "history.norms",
                .float(
                    Tensor(
                        history.flatMap { $0.gradientNorms.map { Float($0.mse) } },
                        shape: [history.flatMap(\.gradientNorms).count]), .f32)
            ),
            (
                "history.jacobian_norms",
                .float(
                    Tensor(
                        history.flatMap { $0.gradientNorms.map { Float($0.jacobian ?? .nan) } },
                        shape: [history.flatMap(\.gradientNorms).count]), .f32)
            ),
            (
                "history.eq4_norms",
                .float(
                    Tensor(
                        history.flatMap { $0.gradientNorms.map { Float($0.norm) } },
                        shape: [history.flatMap(\.gradientNorms).count]), .f32)
            ),
            ("history.batch", .indices(IndexTensor(history.map(\.timesteps.count), shape: [history.count]), .i64)),
            (
                "evaluation.step",
                .indices(IndexTensor(evaluationHistory.map(\.step), shape: [evaluationHistory.count]), .i64)
            ),
            ("evaluation.loss", .float(Tensor(evaluationHistory.map(\.loss), shape: [evaluationHistory.count]), .f32)),
            (
                "similarity.step",
                .indices(IndexTensor(similarityHistory.map(\.step), shape: [similarityHistory.count]), .i64)
            ),
            (
                "similarity.value",
                .float(Tensor(similarityHistory.map { Float($0.value) }, shape: [similarityHistory.count]), .f32)
            ),
            ("random.state", .indices(IndexTensor(state.random.map { Int(bitPattern: UInt($0)) }, shape: [8]), .i64))
        ]
        let kept = try keptEmbeddingEntries()
        tensors += kept.tensors
        let texts = textSimilarityHistory
        tensors += [
            ("text_similarity.step", .indices(IndexTensor(texts.map(\.step), shape: [texts.count]), .i64)),
            ("text_similarity.value", .float(Tensor(texts.map { Float($0.value) }, shape: [texts.count]), .f32))
        ]
        let estimates = sampler.estimates.map { $0.map(Float.init) ?? .nan }
        tensors.append(("sampler.estimates", .float(Tensor(estimates, shape: [estimates.count]), .f32)))
        var metadata: [String: String] = [
            "format": SessionFileContents.format, "concept.name": concept.name, "concept.kind": concept.kind.rawValue,
            "concept.vectors": "\(concept.tokens.count)", "step": "\(state.stepCount)",
            "adam.step": "\(state.adam.step)",
            "strategy": Self.encode(sampler.strategy),
            "strategy.allowed": "\(sampler.allowed.lowerBound) \(sampler.allowed.upperBound)",
            "settings":
                "\(settings.learningRate) \(settings.batch) \(settings.weightDecay) \(settings.seed) "
                + "\(settings.importanceWeighting) \(settings.probes)",
            "model.width": "\(pipeline.textEncoder.tokenWidth)"
        ]
        // Format 4: what is measured and how, and every profile.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // A diverged run can profile NaN or ∞; the histories keep such values too.
        encoder.nonConformingFloatEncodingStrategy = SessionFileContents.nonFinite
        metadata["measurement"] = String(
            decoding: try encoder.encode(
                SessionFileContents.Measurement(
                    every: measurement.every,
                    similarity: measurement.similarity, settings: similaritySettings)), as: UTF8.self)
        metadata["profiles"] = String(decoding: try encoder.encode(profiles), as: UTF8.self)
        metadata["changes"] = String(decoding: try encoder.encode(changes), as: UTF8.self)
        metadata["knobs"] = String(decoding: try encoder.encode(settings.knobs), as: UTF8.self)
        if let modelProfile {
            metadata["model_profile"] = String(decoding: try encoder.encode(modelProfile), as: UTF8.self)
        }
        metadata["kept"] = kept.names
        metadata["concept.preparation"] = String(decoding: try encoder.encode(concept.preparation), as: UTF8.self)
        if concept.images.contains(where: { $0.width != width || $0.height != height }) {
            metadata["concept.sizes"] = concept.images.map { "\($0.width) \($0.height)" }.joined(separator: " ")
        }
        if concept.kind == .captions {
            metadata["concept.captions"] = String(decoding: try JSONEncoder().encode(concept.captions), as: UTF8.self)
        }
        try SafeTensors.write(tensors, metadata: metadata, checksum: true, to: url)
    }

    /// Restores a session saved by `saveSession`; nothing changes when the file is refused.
    public func loadSession(from url: URL) throws {
        let contents = try SessionFileContents.read(
            url, width: pipeline.textEncoder.tokenWidth,
            trainSteps: pipeline.schedule.trainSteps)
        do {
            let concept = try Concept.make(
                name: contents.conceptName, images: contents.images, kind: contents.kind,
                captions: contents.captions, vectors: contents.vectorCount, preparation: contents.preparation,
                pipeline: pipeline)
            var kept: [KeptEmbedding] = []
            for (name, vectors) in contents.kept {
                let (tokens, ids) = try Concept.placeholderTokens(
                    name: name, vectors: vectors.shape[0], pipeline: pipeline)
                kept.append(KeptEmbedding(name: name, tokens: tokens, tokenIDs: ids, vectors: vectors))
            }
            try restoreState(contents.state, concept: concept)
            keptEmbeddings = kept
            textSimilarityHistory = contents.textSimilarity
            if let saved = contents.profiles { profiles = saved }
            changes = contents.changes
            if let saved = contents.modelProfile { modelProfile = saved }
            if let saved = contents.measurement { measurement = saved }
            if let saved = contents.similaritySettings { similaritySettings = saved }
        } catch let error as InversionError { throw InversionError("\(url.path): \(error.description)") } catch {
            throw InversionError("\(url.path): \(error)")
        }
    }

    static func encode(_ strategy: TimestepStrategy) -> String {
        switch strategy {
        case .range(let a, let b): return "range \(a) \(b)"
        case .single(let t): return "single \(t)"
        case .adaptive(let bins, let floor, let ema, let g): return "adaptive \(bins) \(floor) \(ema) \(g.rawValue)"
        case .highGrad(let width, let g, let from): return "highgrad \(width) \(g.rawValue) \(from.rawValue)"
        }
    }

    static func decode(_ text: String) throws -> TimestepStrategy {
        let p = text.split(separator: " ").map(String.init)
        switch (p.first, p.count) {
        case ("range", 3): if let a = Int(p[1]), let b = Int(p[2]) { return .range(a, b) }
        case ("single", 2): if let t = Int(p[1]) { return .single(t) }
        // Files written before g had definitions name none: theirs was the MSE's gradient.
        case ("adaptive", 4), ("adaptive", 5):
            if let b = Int(p[1]), let f = Double(p[2]), let e = Double(p[3]),
                let g = p.count == 5 ? GradientDefinition(rawValue: p[4]) : .mse
            {
                return .adaptive(bins: b, floor: f, ema: e, g: g)
            }
        case ("highgrad", 2), ("highgrad", 3), ("highgrad", 4):
            if let w = Int(p[1]), let g = p.count >= 3 ? GradientDefinition(rawValue: p[2]) : .mse,
                let from = p.count == 4 ? ProfileSource(rawValue: p[3]) : .concept
            {
                return .highGrad(width: w, g: g, from: from)
            }
        default: break
        }
        throw InversionError("unknown strategy \"\(text)\" in the session file")
    }
}
