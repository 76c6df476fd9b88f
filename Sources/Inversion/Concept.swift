import Diffusion
import Foundation
import Graphics
import Numerics

public struct InversionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// Training, profiling and saving need a concept; this says how to make one.
    public static let noConcept = InversionError("no concept yet: use `concept NAME from IMAGES…` first")

    /// A concept without images has nothing to train on or measure against.
    public static func noImages(_ concept: String) -> InversionError {
        InversionError("\(concept) has no images to train on or measure against; use `concept NAME from IMAGES…`")
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
    /// With kind `captions`, per image: its captions (one is drawn per use); otherwise empty.
    public let captions: [[String]]
    /// Why caption files next to the images were not used when no kind was asked for (one is missing or
    /// unusable); nil when there were none or they were used.
    public internal(set) var ignoredCaptions: String?
    /// The crop, mirror chance and resolution the images are prepared with.
    public let preparation: ConceptPreparation
    /// Per image, for centre crops: the VAE posterior (mean, std) of the image and of its mirror image
    /// (the image's own when it is never mirrored); empty for random crops, encoded at each draw.
    let latents: [(plain: (Tensor, Tensor), flipped: (Tensor, Tensor))]

    /// `<name>`, `<name>_1`, … with their ids: placeholders added earlier in this session are reused
    /// (re-running a `concept` cell), words of the vocabulary are refused.
    static func placeholderTokens(name: String, vectors: Int, pipeline: StableDiffusionPipeline) throws -> (
        [String], [Int]
    ) {
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

    /// The text that stands for the concept in a prompt.
    public var placeholder: String { tokens.joined(separator: " ") }

    /// Every prompt the concept trains with, `{}` for the placeholder.
    public var templates: [String] { kind == .captions ? captions.flatMap { $0 } : kind.templates }

    /// The prompts image `index` trains with: its own captions, or the kind's templates.
    func prompts(forImage index: Int) -> [String] { kind == .captions ? captions[index] : kind.templates }

    /// The chance that a training draw is mirrored.
    var flipChance: Double { preparation.flipChance(kind) }

    /// Reads and prepares the images (by default the centre square at the model's resolution), encodes
    /// them, and adds the placeholder tokens to the tokenizer. Kind nil: `captions` when every image has a
    /// usable caption file, else `object`.
    /// `initWord` places the concept in captions without `{}` (see `Captions`); `templates`, an A1111
    /// template file, makes each image's captions from its lines.
    static func load(
        name: String, paths: [URL], kind: ConceptKind?, vectors: Int, initWord: String = "",
        templates: URL? = nil, preparation: ConceptPreparation = .init(),
        pipeline: StableDiffusionPipeline, shouldStop: () throws -> Void = {}
    ) throws -> Concept {
        try preparation.validate(on: pipeline)
        guard !paths.isEmpty else { throw InversionError("a concept needs images: give one or more PNG files") }
        guard vectors >= 1 && vectors <= 16 else {
            throw InversionError("vectors must be between 1 and 16, not \(vectors)")
        }
        let captionFiles = paths.map(captionFile)
        var captions: [[String]] = []
        var ignored: String?
        if let templates {
            guard kind == nil || kind == .captions else {
                throw InversionError("templates= makes each image's captions: leave kind= out, or give kind=captions")
            }
            captions = try Captions.fromTemplates(templates, images: paths)
        } else if kind == .captions
            || (kind == nil && captionFiles.contains { FileManager.default.fileExists(atPath: $0.path) })
        {
            // Asked for, a missing or empty caption file is an error; found without being asked for, it means
            // the templates.
            do { captions = try captionFiles.map { try Captions.read($0, initWord: initWord) } } catch
                where kind == nil
            {
                ignored = String(describing: error)
            }
        }
        let side = preparation.side(on: pipeline)
        var images: [Image] = []
        for url in paths {
            try shouldStop()
            do { images.append(preparation.kept(try Image.read(url), side: side)) } catch {
                // The image errors name the file already.
                throw InversionError("not a usable concept image: \(error)")
            }
        }
        var concept = try make(
            name: name, images: images, kind: captions.isEmpty ? kind ?? .object : .captions, captions: captions,
            vectors: vectors, preparation: preparation, pipeline: pipeline, shouldStop: shouldStop)
        concept.ignoredCaptions = ignored
        return concept
    }

    /// An image's caption file: the same path with the extension `.txt` (as kohya's and A1111's trainers).
    public static func captionFile(_ image: URL) -> URL { image.deletingPathExtension().appendingPathExtension("txt") }

    /// A concept from prepared images (as `preparation.kept` keeps them): tokens added, images encoded
    /// (centre crops). `shouldStop` is asked before each image is encoded (seconds each at Stable
    /// Diffusion's size).
    static func make(
        name: String, images: [Image], kind: ConceptKind, captions: [[String]] = [], vectors: Int,
        preparation: ConceptPreparation = .init(), pipeline: StableDiffusionPipeline,
        shouldStop: () throws -> Void = {}
    ) throws -> Concept {
        guard (kind == .captions) == !captions.isEmpty, captions.isEmpty || captions.count == images.count,
            captions.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.contains("{}") } })
        else {
            throw InversionError(
                "a concept of kind captions needs captions with {} for each of its \(images.count) images, and other "
                    + "kinds none (a damaged session file? make the concept again with `concept NAME from IMAGES…`)"
            )
        }
        let (tokens, ids) = try placeholderTokens(name: name, vectors: vectors, pipeline: pipeline)
        // A caption so long that the text encoder's cut drops the placeholder would train nothing.
        let placeholder = tokens.joined(separator: " ")
        for caption in captions.joined()
        where !pipeline.tokenizer.encode(caption.replacingOccurrences(of: "{}", with: placeholder)).ids.contains(
            ids[ids.count - 1])
        {
            throw InversionError(
                "the caption \"\(caption)\" is longer than the text encoder reads "
                    + "(\(pipeline.tokenizer.promptCapacity) tokens) before the concept's place; shorten it"
            )
        }
        try preparation.validate(on: pipeline)
        let side = preparation.side(on: pipeline)
        let expected = preparation.crop == .center ? "\(side)x\(side)" : "at least \(side) a side"
        guard
            images.allSatisfy({
                preparation.crop == .center
                    ? $0.width == side && $0.height == side : min($0.width, $0.height) >= side
            })
        else {
            throw InversionError(
                "the concept's images are not \(expected) as \(preparation.summary) needs (a damaged session file? "
                    + "make the concept again with `concept NAME from IMAGES…`)")
        }
        let mirrored = preparation.flipChance(kind) > 0
        // Centre crops are encoded once; random ones at each draw.
        let latents = try images.filter { _ in preparation.crop == .center }.map { image in
            try shouldStop()
            let plain = posterior(image, pipeline.vae)
            // Images never mirrored need no second encoding.
            return (plain: plain, flipped: mirrored ? posterior(image.flippedHorizontally(), pipeline.vae) : plain)
        }
        return Concept(
            name: name, kind: kind, tokens: tokens, tokenIDs: ids, images: images, captions: captions,
            preparation: preparation, latents: latents)
    }

    /// The VAE's posterior (mean, standard deviation) of a picture.
    static func posterior(_ picture: Image, _ vae: AutoencoderKL) -> (Tensor, Tensor) {
        withoutGradients {
            let (mean, logVariance) = vae.encode(picture.tensor())
            return (mean, (logVariance * 0.5).exp())
        }
    }
}
