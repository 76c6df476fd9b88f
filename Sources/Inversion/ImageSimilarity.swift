import Diffusion
import Graphics
import Numerics

/// How the CLIP image similarity of a session is measured: `images` generations from prompts with
/// the placeholder (fixed seed, DDIM with guidance), compared with every concept image.
public struct SimilaritySettings: Codable, Equatable, Sendable {
    public var images = 8
    public var steps = 20
    public var guidance: Float = 5
    public var seed: UInt64 = 0
    /// Prompt templates with `{}` where the placeholder goes; nil: the concept's training prompts
    /// (its captions or templates).
    public var prompts: [String]?
    public init() {}
}

extension InversionSession {
    /// Whether the pipeline has the CLIP image encoder that similarity needs.
    public var canMeasureSimilarity: Bool { pipeline.imageEncoder != nil }

    /// The paper's metric (from Gal et al.): the mean cosine similarity, over all generated x concept
    /// image pairs, of CLIP image embeddings; with the generated images. Changes nothing in the session.
    public func imageSimilarity(onStep: (Int) throws -> Void = { _ in }) throws -> (value: Double, images: [Image]) {
        guard let encoder = pipeline.imageEncoder else {
            throw InversionError(
                "this pipeline has no image_encoder/ folder, so CLIP image similarity cannot be measured (the "
                    + "evaluation loss can)"
            )
        }
        guard let concept, !concept.images.isEmpty else {
            throw InversionError("similarity compares with the concept images: use `concept NAME from IMAGES…` first")
        }
        let s = similaritySettings
        let templates = s.prompts ?? concept.templates
        guard s.images >= 1, !templates.isEmpty, templates.allSatisfy({ $0.contains("{}") }) else {
            throw InversionError("similarity prompts need `{}` where the placeholder goes, e.g. \"a photo of a {}\"")
        }
        let prompts = (0..<s.images).map {
            templates[$0 % templates.count].replacingOccurrences(of: "{}", with: concept.placeholder)
        }
        let images = try generate(prompts: prompts, steps: s.steps, guidance: s.guidance, seed: s.seed, onStep: onStep)
        if conceptImageEmbeddings == nil { conceptImageEmbeddings = encoder.embed(concept.images) }
        let references = conceptImageEmbeddings ?? []
        let generated = encoder.embed(images)
        var total = 0.0
        for g in generated { for r in references { total += Double(zip(g, r).map(*).reduce(0, +)) } }
        return (total / Double(generated.count * references.count), images)
    }

    /// Measures and records the similarity at the current step.
    @discardableResult
    public func recordSimilarity(onStep: (Int) throws -> Void = { _ in }) throws -> (value: Double, images: [Image]) {
        let measured = try imageSimilarity(onStep: onStep)
        similarityHistory.append((stepCount, measured.value))
        return measured
    }
}
