import Diffusion

extension StableDiffusionPipeline {
    /// The text encoder as CLIP's text tower: the embedded model's evaluations score captions with
    /// its pooled output and the trained text projection, which only CLIP has.
    public func clipTextModel() throws -> CLIPTextModel {
        guard let clip = textEncoder as? CLIPTextModel else {
            throw TrainingError("\(folder.path): the text encoder is not CLIP's text tower")
        }
        return clip
    }
}
