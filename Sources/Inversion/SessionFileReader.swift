import Diffusion
import Foundation
import Graphics
import Numerics

/// What a session file holds, read and checked without a model: every count, range, length and
/// value is validated here, so a damaged or hostile file is refused with its reason before the
/// session changes (and `step 1` can never overflow a step count of Int.max).
public struct SessionFileContents {
    /// The format written; older ones load through `read`'s one migration path (format 2: no
    /// checksum; formats 2 and 3: no measurement settings or profiles, which take their defaults;
    /// formats 2 to 4: g(t) measured as the MSE's gradient only, so strategies and profiles that name
    /// no definition of g are `mse`, and steps have no Eq. 4 norms; formats 2 to 5: centre crops at the
    /// model's size, so no `concept.preparation` or `concept.sizes`).
    public static let format = "gradti-session-6"
    /// Bounds far beyond real sessions (a `step` cell runs at most a million steps).
    static let maxSteps = 1_000_000_000
    static let maxImages = 10_000
    static let maxSide = 16_384

    public var conceptName: String
    public var kind: ConceptKind
    public var captions: [[String]]
    public var images: [Image]
    /// How the images were prepared (format 6 on; older files: centre crops at the model's size).
    public var preparation = ConceptPreparation()
    public var vectorCount: Int
    var state: TrainingState
    /// Every profile the session measured, oldest first, and how it measured; nil in files of
    /// formats 2 and 3, which did not keep them (loading one leaves the live settings as they are).
    public var profiles: [Profile]?
    /// Strategy and setting changes mid-run (format 5 on; none in older files).
    public var changes: [SettingChange] = []
    /// The embeddings kept beside the concept (format 6 on; none in older files).
    public var kept: [(name: String, vectors: Tensor)] = []
    /// CLIP-T after each step it was measured at (format 6 on).
    public var textSimilarity: [(step: Int, value: Double)] = []
    static let maxChanges = 10_000
    /// The model's profile from generic concepts, when the session had one.
    public var modelProfile: ModelProfile?
    public var measurement: MeasurementSettings?
    public var similaritySettings: SimilaritySettings?

    /// How `measurement` is stored (metadata `measurement`, JSON).
    struct Measurement: Codable {
        var every: Int
        var similarity: Bool?
        var settings: SimilaritySettings
    }
    static let maxProfiles = 1_000
    static let nonFinite = JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    static let maxProfilePoints = 100_000

    /// Reads `url`, for a text encoder of `width` and a schedule of `trainSteps` timesteps.
    public static func read(_ url: URL, width: Int, trainSteps: Int) throws -> SessionFileContents {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(url) } catch { throw InversionError(String(describing: error)) }
        do {
            return try read(file, width: width, trainSteps: trainSteps)
        } catch let error as InversionError {
            throw InversionError("\(url.path): \(error.description)")
        } catch {
            throw InversionError("\(url.path): \(error)")
        }
    }

    static func read(_ file: SafeTensorsFile, width: Int, trainSteps: Int) throws -> SessionFileContents {
        let meta = file.metadata
        switch meta["format"] {
        case "gradti-session-1":
            throw InversionError(
                "saved by an older gradti (format 1, without the timestep generator's state); it cannot be resumed "
                    + "exactly"
            )
        case "gradti-session-2": break  // Written before checksums.
        case "gradti-session-3", "gradti-session-4", "gradti-session-5", format:
            guard file.checksumMatches == true else {
                throw InversionError(
                    "the file is damaged: its content does not match its checksum (a flipped byte or a cut copy); use "
                        + "another copy"
                )
            }
        default: throw InversionError("not a gradti session file (save one with `save session FILE`)")
        }
        guard meta["model.width"] == "\(width)" else {
            throw InversionError(
                "saved with a text encoder of width \(meta["model.width"] ?? "?"); load that model first")
        }
        func number(_ key: String, in range: ClosedRange<Int>) throws -> Int {
            guard let text = meta[key], let value = Int(text) else {
                throw InversionError("metadata \(key) is missing or not a number")
            }
            guard range.contains(value) else {
                throw InversionError("metadata \(key) is \(value), outside \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        func floats(_ name: String, count: Int? = nil, finite: Bool = true) throws -> [Float] {
            let values = try file.tensor(name).scalars
            if let count, values.count != count {
                throw InversionError("\(name) holds \(values.count) values, not \(count)")
            }
            if finite, !values.allSatisfy(\.isFinite) { throw InversionError("\(name) holds NaN or infinite values") }
            return values
        }
        func finiteTensor(_ name: String, shape: [Int]) throws -> Tensor {
            let entry = try file.entry(name)
            guard entry.shape == shape else { throw InversionError("\(name) has shape \(entry.shape), not \(shape)") }
            let t = try file.tensor(name).copy()
            guard t.nonFiniteCount == 0 else { throw InversionError("\(name) holds NaN or infinite values") }
            return t
        }

        // The concept: name, kind, captions, images.
        let name = meta["concept.name"] ?? ""
        guard !name.isEmpty, !name.contains(where: \.isWhitespace) else {
            throw InversionError("metadata concept.name \"\(name)\" is empty or has spaces")
        }
        guard let kind = ConceptKind(rawValue: meta["concept.kind"] ?? ConceptKind.object.rawValue) else {
            throw InversionError(
                "metadata concept.kind is \(meta["concept.kind"] ?? ""), not one of "
                    + "\(ConceptKind.allCases.map(\.rawValue).joined(separator: ", ")); was it saved by a newer gradti?"
            )
        }
        let vectorCount = try number("concept.vectors", in: 1...EmbeddingFile.maxVectors)
        let pictures = try file.entry("concept.images").shape
        guard pictures.count == 4, pictures[1] == 3, (1...maxImages).contains(pictures[0]),
            (1...maxSide).contains(pictures[2]), (1...maxSide).contains(pictures[3])
        else {
            throw InversionError("concept.images has shape \(pictures), not [images, 3, height, width]")
        }
        let (k, h, w) = (pictures[0], pictures[2], pictures[3])
        let pixels = try floats("concept.images")
        // Format 6: images of several sizes (random crops) are padded to the largest; their sizes.
        var sizes = Array(repeating: (w, h), count: k)
        if let text = meta["concept.sizes"] {
            let numbers = text.split(separator: " ").map { Int($0) }
            guard numbers.count == 2 * k, numbers.allSatisfy({ $0 != nil }) else {
                throw InversionError(
                    "metadata concept.sizes does not hold a width and a height for each of \(k) images")
            }
            sizes = (0..<k).map { (numbers[2 * $0]!, numbers[2 * $0 + 1]!) }
            guard sizes.allSatisfy({ (1...w).contains($0.0) && (1...h).contains($0.1) }) else {
                throw InversionError("metadata concept.sizes has a size beyond concept.images' \(w)x\(h)")
            }
        }
        let images = sizes.enumerated().map { i, size in
            var image = Image(width: size.0, height: size.1)
            for c in 0..<3 {
                for y in 0..<size.1 {
                    let from = ((i * 3 + c) * h + y) * w
                    let to = (c * size.1 + y) * size.0
                    image.pixels.replaceSubrange(to..<(to + size.0), with: pixels[from..<(from + size.0)])
                }
            }
            return image
        }
        var preparation = ConceptPreparation()
        if let json = meta["concept.preparation"] {
            guard let decoded = try? JSONDecoder().decode(ConceptPreparation.self, from: Data(json.utf8)),
                decoded.flip.map({ (0...1).contains($0) }) ?? true,
                decoded.resolution.map({ (1...maxSide).contains($0) }) ?? true
            else { throw InversionError("metadata concept.preparation is not valid: \(json.prefix(200))") }
            preparation = decoded
        }
        var captions: [[String]] = []
        if kind == .captions {
            guard let json = meta["concept.captions"],
                let decoded = try? JSONDecoder().decode([[String]].self, from: Data(json.utf8)),
                decoded.count == k, decoded.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.contains("{}") } })
            else {
                throw InversionError(
                    "metadata concept.captions is missing or malformed; the file is damaged: make the concept again "
                        + "with `concept NAME from IMAGES…`"
                )
            }
            captions = decoded
        }

        // Settings, strategy and sampler.
        let parts = (meta["settings"] ?? "").split(separator: " ").map(String.init)
        // Format 5 adds the Jacobian's probe count.
        guard parts.count == 5 || parts.count == 6, let lr = Float(parts[0]), let batch = Int(parts[1]),
            let decay = Float(parts[2]), let seed = UInt64(parts[3]), ["true", "false"].contains(parts[4]),
            parts.count == 5 || Int(parts[5]) != nil
        else {
            throw InversionError("metadata settings is malformed")
        }
        var settings = InversionSession.Settings()
        (settings.learningRate, settings.batch, settings.weightDecay, settings.seed) = (lr, batch, decay, seed)
        settings.importanceWeighting = parts[4] == "true"
        if parts.count == 6, let probes = Int(parts[5]) { settings.probes = probes }
        // Format 5: the schedule, accumulation, clipping and Min-SNR (absent: plain constant-rate steps).
        if let json = meta["knobs"] {
            guard let knobs = try? JSONDecoder().decode(TrainingKnobs.self, from: Data(json.utf8)) else {
                throw InversionError("metadata knobs is not valid: \(json.prefix(200))")
            }
            settings.knobs = knobs
        }
        do { try settings.validate() } catch { throw InversionError("metadata settings or knobs: \(error)") }
        let strategy = try InversionSession.decode(meta["strategy"] ?? "")
        let allowed = (meta["strategy.allowed"] ?? "").split(separator: " ").map { Int($0) }
        guard allowed.count == 2, let lower = allowed[0], let upper = allowed[1], 0 <= lower, lower < upper,
            upper <= trainSteps
        else {
            throw InversionError(
                "metadata strategy.allowed \"\(meta["strategy.allowed"] ?? "")\" is not an interval within "
                    + "0...\(trainSteps)"
            )
        }
        var sampler: TimestepSampler
        do {
            if case .highGrad = strategy {
                // High-grad's interval came from a profile: restore the interval itself.
                sampler = try TimestepSampler(
                    strategy, trainSteps: trainSteps, profile: [ProfilePoint(t: lower, mean: 1)])
                guard upper - lower == sampler.allowed.count else {
                    throw InversionError("metadata strategy.allowed does not have the strategy's width")
                }
                sampler.restore(allowed: lower..<upper)
            } else {
                sampler = try TimestepSampler(strategy, trainSteps: trainSteps)
                guard sampler.allowed == lower..<upper else {
                    throw InversionError("metadata strategy.allowed does not match the strategy")
                }
            }
        } catch let error as StrategyError {
            throw InversionError("the strategy does not fit this model: \(error.description)")
        }
        let estimates = try floats("sampler.estimates", count: sampler.estimates.count, finite: false)
        guard estimates.allSatisfy({ $0.isNaN || ($0.isFinite && $0 >= 0) }) else {
            throw InversionError("sampler.estimates holds infinite or negative values")
        }
        sampler.restore(estimates: estimates.map { $0.isNaN ? nil : Double($0) })

        // Vectors and AdamW's moments.
        let vectors = try finiteTensor("vectors", shape: [vectorCount, width])
        let first = try finiteTensor("adam.m", shape: [vectorCount, width])
        let second = try finiteTensor("adam.v", shape: [vectorCount, width])
        guard second.scalars.allSatisfy({ $0 >= 0 }) else { throw InversionError("adam.v holds negative values") }
        let adamStep = try number("adam.step", in: 0...maxSteps)
        let stepCount = try number("step", in: 0...maxSteps)

        // The histories, whose lengths must fit together.
        let losses = try floats("history.loss", finite: false)
        let seconds = try floats("history.seconds")
        let batches = try file.indices("history.batch").values
        let timesteps = try file.indices("history.timesteps").values
        let norms = try floats("history.norms", finite: false)
        // Eq. 4's norms came with session format 5; older files measured only the MSE's (NaN: not measured).
        let eq4Norms =
            file.names.contains("history.eq4_norms")
            ? try floats("history.eq4_norms", finite: false) : [Float](repeating: .nan, count: norms.count)
        let jacobianNorms =
            file.names.contains("history.jacobian_norms")
            ? try floats("history.jacobian_norms", finite: false) : [Float](repeating: .nan, count: norms.count)
        guard losses.count == batches.count, seconds.count == batches.count, batches.count <= stepCount,
            batches.allSatisfy({ (0...64).contains($0) }), batches.reduce(0, +) == timesteps.count,
            timesteps.count == norms.count, eq4Norms.count == norms.count, jacobianNorms.count == norms.count,
            timesteps.allSatisfy({ (0..<trainSteps).contains($0) })
        else {
            throw InversionError("the step history's tensors do not fit together (a damaged file?)")
        }
        var records: [StepRecord] = []
        var offset = 0
        for (i, size) in batches.enumerated() {
            records.append(
                StepRecord(
                    step: i + 1, loss: losses[i], timesteps: Array(timesteps[offset..<(offset + size)]),
                    gradientNorms: (offset..<(offset + size)).map {
                        GradientNorms(
                            norm: Double(eq4Norms[$0]), mse: Double(norms[$0]),
                            jacobian: jacobianNorms[$0].isNaN ? nil : Double(jacobianNorms[$0]))
                    }, seconds: Double(seconds[i])))
            offset += size
        }
        let evaluationSteps = try file.indices("evaluation.step").values
        let evaluationLosses = try floats("evaluation.loss", finite: false)
        let similaritySteps = try file.indices("similarity.step").values
        let similarities = try floats("similarity.value", finite: false)
        guard evaluationSteps.count == evaluationLosses.count, similaritySteps.count == similarities.count,
            (evaluationSteps + similaritySteps).allSatisfy({ (0...stepCount).contains($0) })
        else {
            throw InversionError("the evaluation histories do not fit together (a damaged file?)")
        }
        let random = try file.indices("random.state").values
        guard random.count == 8 else { throw InversionError("random.state holds \(random.count) values, not 8") }
        let state = TrainingState(
            vectors: vectors, adam: (adamStep, first, second), settings: settings, sampler: sampler,
            stepCount: stepCount, history: records,
            evaluation: zip(evaluationSteps, evaluationLosses).map { (step: $0, loss: $1) },
            similarity: zip(similaritySteps, similarities).map { (step: $0, value: Double($1)) },
            random: random.map { UInt64(bitPattern: Int64($0)) })
        var contents = SessionFileContents(
            conceptName: name, kind: kind, captions: captions, images: images, vectorCount: vectorCount,
            state: state)
        contents.preparation = preparation
        contents.kept = try keptEmbeddings(file, width: width)
        // Format 6: CLIP-T's history (absent: never measured).
        if file.names.contains("text_similarity.step") {
            let steps = try file.indices("text_similarity.step").values
            let values = try floats("text_similarity.value", finite: false)
            guard steps.count == values.count, steps.allSatisfy({ (0...stepCount).contains($0) }) else {
                throw InversionError("the CLIP-T history's tensors do not fit together (a damaged file?)")
            }
            contents.textSimilarity = zip(steps, values).map { (step: $0, value: Double($1)) }
        }
        if ["gradti-session-5", format].contains(meta["format"]) {
            try contents.readMeasurements(meta, trainSteps: trainSteps)
        }
        return contents
    }
}

extension SessionFileContents {
    /// Format 4's measurement settings and profiles, each value checked.
    mutating func readMeasurements(_ meta: [String: String], trainSteps: Int) throws {
        guard let text = meta["measurement"],
            let saved = try? JSONDecoder().decode(Measurement.self, from: Data(text.utf8))
        else { throw InversionError("metadata measurement is missing or not valid") }
        let s = saved.settings
        guard (0...1_000_000).contains(saved.every), (1...64).contains(s.images), (1...1000).contains(s.steps),
            s.guidance.isFinite, (0...100).contains(s.guidance), s.seed <= UInt64(Int32.max),
            (s.prompts ?? []).allSatisfy({ $0.contains("{}") }), s.prompts?.isEmpty != true
        else { throw InversionError("metadata measurement holds a value out of range: \(text)") }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let json = meta["profiles"],
            let profiles = try? decoder.decode([Profile].self, from: Data(json.utf8))
        else { throw InversionError("metadata profiles is missing or not valid") }
        guard profiles.count <= Self.maxProfiles else {
            throw InversionError("metadata profiles holds \(profiles.count) profiles, more than \(Self.maxProfiles)")
        }
        for profile in profiles {
            guard !profile.label.isEmpty, profile.label.count <= 200, profile.points.count <= Self.maxProfilePoints,
                profile.points.allSatisfy({
                    // NaN and ∞ come from diverged runs (the histories keep them too); negatives never.
                    (0..<trainSteps).contains($0.t) && !($0.mean < 0) && !($0.std < 0)
                })
            else { throw InversionError("metadata profiles: profile \"\(profile.label.prefix(40))\" is not valid") }
        }
        var settings = MeasurementSettings()
        settings.every = saved.every
        settings.similarity = saved.similarity
        measurement = settings
        similaritySettings = saved.settings
        self.profiles = profiles
        if let json = meta["changes"] {
            guard let changes = try? JSONDecoder().decode([SettingChange].self, from: Data(json.utf8)),
                changes.count <= Self.maxChanges,
                changes.allSatisfy({ (0...Self.maxSteps).contains($0.step) && $0.change.count <= 500 })
            else { throw InversionError("metadata changes is not valid") }
            self.changes = changes
        }
        if let json = meta["model_profile"] {
            guard let profile = try? decoder.decode(ModelProfile.self, from: Data(json.utf8)),
                (try? profile.validate()) != nil
            else { throw InversionError("metadata model_profile is not valid") }
            modelProfile = profile
        }
    }
}
