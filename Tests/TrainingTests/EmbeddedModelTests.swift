import Diffusion
import Foundation
import Numerics
import Testing

@testable import Training

/// The committed embedded model (`models/gradti-emoji`) is the recipe's architecture, in float16,
/// within its size budget, and its weights still do what its model card says they do.
@Suite struct EmbeddedModelTests {
    let folder = repository.appendingPathComponent("models/gradti-emoji")

    @Test func itIsTheRecipeInFloat16WithinFortyMegabytes() throws {
        let pipeline = try StableDiffusionPipeline(folder: folder)
        #expect(pipeline.unet.config.blockChannels == Recipe.unet["block_out_channels"] as? [Int])
        #expect(pipeline.unet.config.crossAttentionDim == Recipe.unet["cross_attention_dim"] as? Int)
        #expect(pipeline.vae.config.sampleSize == Recipe.imageSide && pipeline.imageEncoder != nil)
        for (component, file) in [
            ("unet", "diffusion_pytorch_model.safetensors"), ("vae", "diffusion_pytorch_model.safetensors"),
            ("text_encoder", "model.safetensors"), ("image_encoder", "model.safetensors"),
            ("text_projection", "model.safetensors")
        ] {
            let weights = try SafeTensorsFile(folder.appendingPathComponent(component).appendingPathComponent(file))
            #expect(try weights.names.allSatisfy { try weights.entry($0).dtype == .f16 }, "\(component) is float16")
        }
        let files =
            FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.fileSizeKey])?.compactMap {
                $0 as? URL
            } ?? []
        let bytes = try files.map { try $0.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0 }.reduce(0, +)
        #expect(bytes > 10_000_000 && bytes <= 40_000_000)
    }

    /// Fewer scenes than `gradti train measure` uses (100 rather than 500 for the VAE), with margins
    /// below the card's figures (VAE 28.4 dB, CLIP 98%): a broken export or mixed-up weights fail.
    @Test func theVAEAndCLIPStillMeasureAsTheCardSays() throws {
        let pipeline = try StableDiffusionPipeline(folder: folder)
        let catalog = try EmojiCatalog(font: font.get())
        #expect(VAETrainer.evaluate(pipeline.vae, catalog: catalog, count: 100) > 27)
        let projection = try PipelineExport.textProjection(in: folder)
        let vision = try #require(pipeline.imageEncoder)
        let top1 = CLIPTrainer.evaluate(
            text: try pipeline.clipTextModel(), vision: vision, projection: projection,
            tokenizer: pipeline.tokenizer, catalog: catalog, count: 100)
        #expect(top1 >= 0.9)
    }

    /// From little noise the UNet restores a real scene nearly as the VAE reconstructs it; from much
    /// noise far less (`gradti train restore`). Sampling from a level rather than from pure noise is
    /// what makes the first figure high.
    @Test func theUNetRestoresScenesFromLittleNoise() throws {
        let pipeline = try StableDiffusionPipeline(folder: folder)
        let catalog = try EmojiCatalog(font: font.get(), only: [0x1F40D, 0x1F345, 0x1F697])  // snake, tomato, car
        let result = try Restoration.run(
            pipeline: pipeline, catalog: catalog, subjects: catalog.trainingSubjects, levels: [60, 800], count: 3)
        #expect(result.levels == [34, 793] && result.grid.height > 3 * 32)
        #expect(result.psnr[0] > 24 && result.psnr[1] < result.psnr[0] - 3, "\(result.psnr)")
    }
}
