import Foundation
import Graphics
import Numerics

/// The CLIP that measures a concept: its image tower for CLIP-I (generations against the concept images)
/// and, when it has one, its text tower with the projection and tokenizer for CLIP-T (generations against
/// their prompt without the placeholder, as Gal et al. evaluate).
///
/// Either transformers' `CLIPModel` folder, as `openai/clip-vit-large-patch14` is downloaded (`config.json`
/// with `text_config`, `vision_config` and `projection_dim`; `model.safetensors` with `text_model.*`,
/// `vision_model.*`, `text_projection` and `visual_projection`; the tokenizer files), or a pipeline's own
/// `image_encoder/` with, when the folder has one, `text_projection/` beside its text encoder (gradti's
/// embedded model).
public final class CLIPEvaluator {
    public let vision: CLIPVisionModel
    public let text: (model: CLIPTextModel, projection: TextProjection, tokenizer: CLIPTokenizer)?
    /// Where it came from, for `info` and errors.
    public let source: String

    public init(
        vision: CLIPVisionModel, text: (CLIPTextModel, TextProjection, CLIPTokenizer)?, source: String
    ) {
        (self.vision, self.source) = (vision, source)
        self.text = text.map { (model: $0.0, projection: $0.1, tokenizer: $0.2) }
    }

    /// Loads a `CLIPModel` folder.
    public convenience init(clipModelFolder folder: URL) throws {
        let configURL = folder.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw ModelError(
                "\(displayPath(folder)) has no config.json: an evaluator is a CLIPModel folder as transformers saves "
                    + "it (openai/clip-vit-large-patch14)")
        }
        let file = try ConfigFile(configURL)
        func part(_ key: String) throws -> ConfigFile {
            guard var values = file.values[key] as? [String: Any] else {
                throw ModelError("\(configURL.path): no \"\(key)\" object; is this a CLIPModel's config?")
            }
            // The joint space's size is the model's, not each tower's.
            if let dimension = file.values["projection_dim"] { values["projection_dim"] = dimension }
            return ConfigFile(values: values, url: URL(fileURLWithPath: "\(configURL.path) (\(key))"))
        }
        let weightsURL = folder.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw ModelError("\(displayPath(folder)): no model.safetensors (gradti reads the safetensors weights)")
        }
        let names = Set(try SafeTensorsFile(weightsURL).names)
        let textNames = names.filter { $0.hasPrefix(CLIPTextModel.prefix) }
        // One file, three parts: each part is strict about its own tensors and passes over the others'.
        func files(keeping kept: Set<String>, prefix: String = "", buffers: Set<String> = []) throws -> CheckpointFiles
        {
            try CheckpointFiles(
                folder: folder, names: ["model.safetensors"], optionalPrefix: prefix,
                ignoring: Set(
                    names.subtracting(kept).map { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : $0 }
                )
                .union(buffers))
        }
        let visionNames = names.filter { $0.hasPrefix("vision_model.") }.union(["visual_projection.weight"])
        let vision = try CLIPVisionModel(
            config: .init(part("vision_config")),
            weights: .checkpoint(files(keeping: visionNames, buffers: CLIPVisionModel.buffers)))
        let textModel = try CLIPTextModel(
            config: .init(part("text_config")),
            weights: .checkpoint(
                files(keeping: textNames, prefix: CLIPTextModel.prefix, buffers: CLIPTextModel.buffers)))
        let projection = try TextProjection(
            width: textModel.config.hiddenSize, dimension: vision.config.projectionDim,
            weights: .checkpoint(files(keeping: ["text_projection.weight"])))
        let tokenizer = try CLIPTokenizer(folder: folder)
        self.init(vision: vision, text: (textModel, projection, tokenizer), source: folder.path)
    }

    /// A pipeline's own CLIP: its image encoder, with CLIP-T when `text_projection/` sits in the folder.
    public static func own(_ pipeline: StableDiffusionPipeline) -> CLIPEvaluator? {
        guard let vision = pipeline.imageEncoder else { return nil }
        guard let projection = pipeline.textProjection, let model = pipeline.textEncoder as? CLIPTextModel else {
            return CLIPEvaluator(vision: vision, text: nil, source: "the pipeline's image_encoder/")
        }
        return CLIPEvaluator(
            vision: vision, text: (model, projection, pipeline.tokenizer),
            source: "the pipeline's image_encoder/ and text_projection/")
    }

    /// Unit-length text embeddings [N][P] of `prompts` (nil without a text tower).
    public func embedText(_ prompts: [String]) -> [[Float]]? {
        guard let text, !prompts.isEmpty else { return text == nil ? nil : [] }
        let ids = prompts.flatMap { text.tokenizer.encode($0).ids }
        let values = withoutGradients {
            text.projection(
                text.model(IndexTensor(ids, shape: [prompts.count, text.tokenizer.contextLength])).pooled
            ).l2Normalized()
        }
        let p = values.shape[1]
        return (0..<prompts.count).map { Array(values.scalars[($0 * p)..<(($0 + 1) * p)]) }
    }
}
