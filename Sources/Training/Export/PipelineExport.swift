import Diffusion
import Foundation
import Numerics

/// Writes the trained components as one Stable Diffusion pipeline folder in the diffusers layout,
/// weights in float16: `model_index.json`, `tokenizer/`, `text_encoder/`, `image_encoder/`, `vae/`,
/// `unet/` (its moving average when trained with one), `scheduler/`; and `text_projection/`, the text
/// tower's head from the contrastive training, which `gradti train measure` needs for CLIP retrieval
/// (diffusers loads only what `model_index.json` names, so it ignores the folder); and the UNet's
/// `training_subjects.txt` when it was trained on a chosen list of subjects.
public enum PipelineExport {
    /// Where each component comes from in a work folder, and its weights file.
    static let components: [(name: String, source: String, file: String, prefix: String)] = [
        ("text_encoder", "clip/text_encoder", "model.safetensors", CLIPTextModel.prefix),
        ("image_encoder", "clip/image_encoder", "model.safetensors", ""),
        ("vae", "vae", "diffusion_pytorch_model.safetensors", ""),
        ("unet", "unet", "diffusion_pytorch_model.safetensors", ""),
        ("text_projection", "clip/text_projection", "model.safetensors", "")
    ]

    /// The text projection that an assembled folder keeps in `text_projection/`.
    public static func textProjection(in folder: URL) throws -> Tensor {
        try SafeTensorsFile(folder.appendingPathComponent("text_projection/model.safetensors")).tensor(
            "text_projection.weight")
    }

    public static let modelIndex: [String: Any] = [
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.42.1",
        "feature_extractor": [NSNull(), NSNull()], "safety_checker": [NSNull(), NSNull()],
        "requires_safety_checker": false,
        "image_encoder": ["transformers", "CLIPVisionModelWithProjection"], "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]
    ]

    /// Assembles `work` (the training folders) and `tokenizer` into `output`; returns its size in bytes.
    @discardableResult
    public static func write(work: URL, tokenizer: URL, to output: URL) throws -> Int {
        let fm = FileManager.default
        let staging = output.deletingLastPathComponent().appendingPathComponent(
            ".\(output.lastPathComponent)-\(UUID())")
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: staging) }
        for component in components {
            let source = work.appendingPathComponent(component.source)
            let target = staging.appendingPathComponent(component.name)
            try fm.createDirectory(at: target, withIntermediateDirectories: true)
            guard
                var config =
                    (try? JSONSerialization.jsonObject(
                        with: Data(contentsOf: source.appendingPathComponent("config.json")))) as? [String: Any]
            else {
                throw TrainingError("\(source.path)/config.json is missing: train \(component.name) first")
            }
            config["torch_dtype"] = "float16"
            try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
                .write(to: target.appendingPathComponent("config.json"))
            let weights = try SafeTensorsFile(source.appendingPathComponent(component.file))
            let state = try? SafeTensorsFile(source.appendingPathComponent("training-state.safetensors"))
            var tensors: [(String, SafeTensors.Value)] = []
            for name in weights.names {
                let bare = name.hasPrefix(component.prefix) ? String(name.dropFirst(component.prefix.count)) : name
                let averaged = state.flatMap { $0.names.contains("ema." + bare) ? try? $0.tensor("ema." + bare) : nil }
                tensors.append((name, .float(try averaged ?? weights.tensor(name), .f16)))
            }
            try SafeTensors.write(
                tensors, metadata: ["format": "pt"], to: target.appendingPathComponent(component.file))
        }
        let subjects = work.appendingPathComponent("unet").appendingPathComponent(SubjectList.fileName)
        if fm.fileExists(atPath: subjects.path) {
            try fm.copyItem(
                at: subjects, to: staging.appendingPathComponent("unet").appendingPathComponent(SubjectList.fileName))
        }
        let scheduler = staging.appendingPathComponent("scheduler")
        try fm.createDirectory(at: scheduler, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: Recipe.scheduler, options: [.prettyPrinted, .sortedKeys])
            .write(to: scheduler.appendingPathComponent("scheduler_config.json"))
        try fm.copyItem(at: tokenizer, to: staging.appendingPathComponent("tokenizer"))
        try JSONSerialization.data(withJSONObject: modelIndex, options: [.prettyPrinted, .sortedKeys])
            .write(to: staging.appendingPathComponent("model_index.json"))
        // The card survives re-assembly (it is written by hand and by `gradti train measure`).
        let card = output.appendingPathComponent("README.md")
        if fm.fileExists(atPath: card.path) {
            try fm.copyItem(at: card, to: staging.appendingPathComponent("README.md"))
        }
        // It must load as a pipeline before it replaces anything.
        _ = try StableDiffusionPipeline(folder: staging)
        if fm.fileExists(atPath: output.path) { try fm.removeItem(at: output) }
        try fm.moveItem(at: staging, to: output)
        let files =
            fm.enumerator(at: output, includingPropertiesForKeys: [.fileSizeKey])?.compactMap { $0 as? URL } ?? []
        return try files.map { try $0.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0 }.reduce(0, +)
    }
}
