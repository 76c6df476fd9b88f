import Diffusion
import Foundation
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
    /// The CLIP that measures similarity: the one `evaluate evaluator=PATH` chose, else the pipeline's own
    /// (its image_encoder/, with text_projection/ for CLIP-T); nil when there is none.
    public var evaluator: CLIPEvaluator? { chosenEvaluator ?? CLIPEvaluator.own(pipeline) }

    /// Measures with `evaluator` from now on (nil: the pipeline's own); the concept images are embedded
    /// again by it.
    public func setEvaluator(_ evaluator: CLIPEvaluator?) {
        chosenEvaluator = evaluator
        conceptImageEmbeddings = nil
    }

    /// Whether there is a CLIP image encoder to measure similarity with.
    public var canMeasureSimilarity: Bool { evaluator != nil }

    /// The paper's metric (from Gal et al.): CLIP-I, the mean cosine similarity, over all generated x concept
    /// image pairs, of CLIP image embeddings; and, when the evaluator has a text tower, CLIP-T, the mean
    /// cosine of each generation with its prompt without the placeholder ("a photo of a {} on the beach":
    /// "a photo of a on the beach"; "a {} dog": "a dog"); with the generated images. Changes nothing in the
    /// session.
    public func imageSimilarity(
        onStep: (Int) throws -> Void = { _ in }
    ) throws -> (value: Double, images: [Image], text: Double?) {
        guard let evaluator else {
            throw InversionError(
                "this pipeline has no image_encoder/ folder, so CLIP image similarity cannot be measured (the "
                    + "evaluation loss can; or give a CLIP model with `evaluate evaluator=PATH`)"
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
        let chosen = (0..<s.images).map { templates[$0 % templates.count] }
        let prompts = chosen.map { $0.replacingOccurrences(of: "{}", with: concept.placeholder) }
        let images = try generate(prompts: prompts, steps: s.steps, guidance: s.guidance, seed: s.seed, onStep: onStep)
        if conceptImageEmbeddings == nil { conceptImageEmbeddings = evaluator.vision.embed(concept.images) }
        let references = conceptImageEmbeddings ?? []
        let generated = evaluator.vision.embed(images)
        func cosine(_ a: [Float], _ b: [Float]) -> Double { Double(zip(a, b).map(*).reduce(0, +)) }
        var total = 0.0
        for g in generated { for r in references { total += cosine(g, r) } }
        let text = evaluator.embedText(chosen.map(Self.withoutPlaceholder)).map { texts in
            zip(generated, texts).map { cosine($0, $1) }.reduce(0, +) / Double(generated.count)
        }
        return (total / Double(generated.count * references.count), images, text)
    }

    /// A prompt template without its placeholder, spaces tidied: what CLIP-T compares generations with.
    static func withoutPlaceholder(_ template: String) -> String {
        template.replacingOccurrences(of: "{}", with: "").split(separator: " ", omittingEmptySubsequences: true)
            .joined(separator: " ").replacingOccurrences(of: " ,", with: ",")
            .trimmingCharacters(in: CharacterSet(charactersIn: ", "))
    }

    /// Measures and records the similarity (and CLIP-T, when measured) at the current step.
    @discardableResult
    public func recordSimilarity(
        onStep: (Int) throws -> Void = { _ in }
    ) throws -> (value: Double, images: [Image], text: Double?) {
        let measured = try imageSimilarity(onStep: onStep)
        similarityHistory.append((stepCount, measured.value))
        if let text = measured.text { textSimilarityHistory.append((stepCount, text)) }
        return measured
    }
}
