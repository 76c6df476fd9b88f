import Foundation
import Numerics

/// A Stable-Diffusion-family pipeline folder in the diffusers layout: `model_index.json`,
/// `tokenizer/`, `text_encoder/`, `unet/`, `vae/`, `scheduler/` (and later `image_encoder/`).
public final class StableDiffusionPipeline {
    public let folder: URL
    public let tokenizer: CLIPTokenizer
    /// CLIP's text tower in SD 1.x/2.x folders; the protocol leaves room for LDMBert and SDXL's pair.
    public let textEncoder: any TextEncoder
    public let unet: UNet2DConditionModel
    public let vae: AutoencoderKL
    public let schedule: NoiseSchedule
    /// The optional CLIP image encoder (`image_encoder/`), for CLIP image similarity.
    public let imageEncoder: CLIPVisionModel?
    /// The text tower's projection into the image encoder's space (`text_projection/`, which gradti's
    /// embedded model carries), for CLIP-T with the pipeline's own CLIP; nil in Stable Diffusion folders.
    public let textProjection: TextProjection?

    /// Loads a pipeline folder; `variant` (`fp16`) picks diffusers' variant weight files where a component
    /// has them.
    public init(folder: URL, variant: String? = nil) throws {
        self.folder = folder
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw ModelError("\(folder.path): no such folder (a pipeline is a folder in the diffusers layout)")
        }
        let parent = folder.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("model_index.json").path),
            FileManager.default.fileExists(atPath: parent.appendingPathComponent("model_index.json").path)
        {
            // A component folder (unet/, vae/, …) given for its pipeline.
            throw ModelError(
                "\(folder.path) is the \(folder.lastPathComponent)/ of a pipeline: load the pipeline folder "
                    + "\(parent.path)"
            )
        }
        let index = try ConfigFile(folder.appendingPathComponent("model_index.json"))
        for component in ["tokenizer", "text_encoder", "unet", "vae", "scheduler"] where index.values[component] == nil
        {
            throw ModelError("\(index.url.path): no \"\(component)\" entry; is this a Stable Diffusion pipeline?")
        }
        tokenizer = try CLIPTokenizer(folder: folder.appendingPathComponent("tokenizer"))
        textEncoder = try CLIPTextModel(folder: folder.appendingPathComponent("text_encoder"), variant: variant)
        unet = try UNet2DConditionModel(folder: folder.appendingPathComponent("unet"), variant: variant)
        vae = try AutoencoderKL(folder: folder.appendingPathComponent("vae"), variant: variant)
        schedule = try NoiseSchedule(ConfigFile(folder.appendingPathComponent("scheduler/scheduler_config.json")))
        let imageFolder = folder.appendingPathComponent("image_encoder")
        imageEncoder =
            FileManager.default.fileExists(atPath: imageFolder.appendingPathComponent("config.json").path)
            ? try CLIPVisionModel(folder: imageFolder, variant: variant) : nil
        let projectionFolder = folder.appendingPathComponent("text_projection")
        if let imageEncoder, let text = textEncoder as? CLIPTextModel,
            FileManager.default.fileExists(atPath: projectionFolder.appendingPathComponent("model.safetensors").path)
        {
            textProjection = try TextProjection(
                width: text.config.hiddenSize, dimension: imageEncoder.config.projectionDim,
                weights: .checkpoint(CheckpointFiles(folder: projectionFolder, names: ["model.safetensors"])))
        } else {
            textProjection = nil
        }
        guard unet.config.crossAttentionDim == textEncoder.contextWidth else {
            throw ModelError(
                "\(folder.path): the UNet's cross_attention_dim \(unet.config.crossAttentionDim) does not match the "
                    + "text encoder's hidden_size \(textEncoder.contextWidth)"
            )
        }
        guard unet.config.inChannels == vae.config.latentChannels else {
            throw ModelError(
                "\(folder.path): the UNet takes \(unet.config.inChannels) channels, the VAE makes "
                    + "\(vae.config.latentChannels)"
            )
        }
    }

    /// The text encoder's last hidden states for prompts [B, L, D].
    public func encode(_ prompts: [String]) -> Tensor {
        let ids = prompts.flatMap { tokenizer.encode($0).ids }
        return textEncoder.conditioning(IndexTensor(ids, shape: [prompts.count, tokenizer.contextLength])).context
    }
}
