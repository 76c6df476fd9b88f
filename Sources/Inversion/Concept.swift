import Diffusion
import Foundation
import Numerics

public struct InversionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// Training, profiling and saving need a concept; this says how to make one.
    public static let noConcept = InversionError("no concept yet: use `concept NAME from IMAGES…` first")

    /// A concept loaded from an embedding file has vectors but no images to train on or measure against.
    public static func noImages(_ concept: String) -> InversionError {
        InversionError("\(concept) was loaded from an embedding file and has no images to train on or measure against; use `concept NAME from IMAGES…`")
    }
}

/// A concept to learn: its images (and their mirror images) encoded once by the VAE, and the
/// placeholder token(s) that stand for it in prompts.
public struct Concept {
    public let name: String
    public let kind: ConceptKind
    /// `<name>`, then `<name>_1`, … for more than one vector.
    public let tokens: [String]
    public let tokenIDs: [Int]
    public let images: [Image]
    /// Per image: the VAE posterior (mean, std) of the image and of its mirror image.
    let latents: [(plain: (Tensor, Tensor), flipped: (Tensor, Tensor))]

    /// `<name>`, `<name>_1`, … with their ids: placeholders added earlier in this session are reused
    /// (re-running a `concept` cell), words of the vocabulary are refused.
    static func placeholderTokens(name: String, vectors: Int, pipeline: StableDiffusionPipeline) throws -> ([String], [Int]) {
        let token = name.hasPrefix("<") ? name : "<\(name)>"
        let tokens = [token] + (1..<max(vectors, 1)).map { "\(token)_\($0)" }
        let tokenizer = pipeline.tokenizer
        let ids = try tokens.map { t -> Int in
            if tokenizer.addedTokens.contains(t), let id = tokenizer.vocabulary[t] { return id }
            do { return try tokenizer.addToken(t) } catch { throw InversionError(String(describing: error)) }
        }
        return (tokens, ids)
    }

    /// A concept known only by its vectors (loaded from an embedding file): usable in prompts,
    /// not trainable.
    static func vectorsOnly(name: String, vectors: Int, pipeline: StableDiffusionPipeline) throws -> Concept {
        let (tokens, ids) = try placeholderTokens(name: name, vectors: vectors, pipeline: pipeline)
        return Concept(name: name, kind: .object, tokens: tokens, tokenIDs: ids, images: [], latents: [])
    }

    /// The text that stands for the concept in a prompt.
    public var placeholder: String { tokens.joined(separator: " ") }

    /// Reads and prepares the images (center square, model resolution), encodes them, and adds the
    /// placeholder tokens to the tokenizer.
    static func load(name: String, paths: [URL], kind: ConceptKind, vectors: Int, pipeline: StableDiffusionPipeline) throws -> Concept {
        guard !paths.isEmpty else { throw InversionError("a concept needs images: give one or more PNG files") }
        guard vectors >= 1 && vectors <= 16 else { throw InversionError("vectors must be between 1 and 16, not \(vectors)") }
        let resolution = pipeline.unet.config.sampleSize * pipeline.vae.config.downscale
        var images: [Image] = []
        for url in paths {
            do { images.append(try Image.read(url).prepared(size: resolution)) } catch {
                throw InversionError("cannot use \(url.path) as a concept image: \(error)")
            }
        }
        return try make(name: name, images: images, kind: kind, vectors: vectors, pipeline: pipeline)
    }

    /// A concept from prepared images (at the model's resolution): tokens added, images encoded.
    static func make(name: String, images: [Image], kind: ConceptKind, vectors: Int, pipeline: StableDiffusionPipeline) throws -> Concept {
        let (tokens, ids) = try placeholderTokens(name: name, vectors: vectors, pipeline: pipeline)
        let vae = pipeline.vae
        let latents = withoutGradients {
            images.map { image -> ((Tensor, Tensor), (Tensor, Tensor)) in
                func posterior(_ picture: Image) -> (Tensor, Tensor) {
                    let (mean, logVariance) = vae.encode(picture.tensor())
                    return (mean, (logVariance * 0.5).exp())
                }
                return (posterior(image), posterior(image.flippedHorizontally()))
            }
        }
        return Concept(name: name, kind: kind, tokens: tokens, tokenIDs: ids, images: images,
                       latents: latents.map { (plain: $0.0, flipped: $0.1) })
    }
}
