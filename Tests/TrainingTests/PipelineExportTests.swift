import Diffusion
import Foundation
import Numerics
import Testing

@testable import Training

@Suite struct PipelineExportTests {
    /// Small random components in a work folder, assembled into a pipeline that loads, in float16,
    /// with the UNet's moving average rather than its last weights, and its subject list.
    @Test func assemblesALoadablePipeline() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-export-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let work = scratch.appendingPathComponent("work")
        let small: [String: Any] = [
            "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "projection_dim": 32
        ]
        let text = Recipe.textEncoder.merging(small) { $1 }
        let image = Recipe.imageEncoder.merging(small) { $1 }
        let unetConfig = Recipe.unet.merging([
            "block_out_channels": [32, 32, 32], "cross_attention_dim": 32, "norm_num_groups": 8
        ]) { $1 }
        _ = try Checkpoint.open(
            folder: work.appendingPathComponent("clip/text_encoder"), config: text, weightsFile: "model.safetensors",
            prefix: CLIPTextModel.prefix, seed: 1, learningRate: 1e-3
        ) { weights in
            try CLIPTextModel(config: .init(ConfigFile(values: text)), weights: weights)
        }.1.save()
        _ = try Checkpoint.open(
            folder: work.appendingPathComponent("clip/image_encoder"), config: image, weightsFile: "model.safetensors",
            seed: 2, learningRate: 1e-3
        ) { weights in
            try CLIPVisionModel(config: .init(ConfigFile(values: image)), weights: weights)
        }.1.save()
        _ = try Checkpoint.open(
            folder: work.appendingPathComponent("clip/text_projection"), config: ["projection_dim": 32],
            weightsFile: "model.safetensors", seed: 5, learningRate: 1e-3
        ) { weights in
            try TextProjection(width: 32, dimension: 32, weights: weights)
        }.1.save()
        _ = try Checkpoint.open(
            folder: work.appendingPathComponent("vae"), config: CheckpointTests.tinyVAE,
            weightsFile: "diffusion_pytorch_model.safetensors", seed: 3, learningRate: 1e-3
        ) { weights in
            try AutoencoderKL(config: .init(ConfigFile(values: CheckpointTests.tinyVAE)), weights: weights)
        }.1.save()
        let unet = try Checkpoint.open(
            folder: work.appendingPathComponent("unet"), config: unetConfig,
            weightsFile: "diffusion_pytorch_model.safetensors", seed: 4, learningRate: 1e-3
        ) { weights in
            try UNet2DConditionModel(config: UNetConfig(ConfigFile(values: unetConfig)), weights: weights)
        }.1
        try unet.enableAverage(decay: 0.9)
        let conv = try #require(unet.parameters.first { $0.name == "conv_in.weight" })
        let before = conv.tensor.scalars
        for i in 0..<conv.tensor.count { conv.tensor.data[i] += 1 }  // the "trained" weights move away from the average
        try unet.save()
        let kept = "# chosen\nU+1F40D snake\n"
        try kept.write(
            to: work.appendingPathComponent("unet/\(SubjectList.fileName)"), atomically: true, encoding: .utf8)

        let output = scratch.appendingPathComponent("gradti-emoji")
        let tokenizer = repository.appendingPathComponent("Tests/DiffusionTests/Fixtures/sd-tiny/pipeline/tokenizer")
        try PipelineExport.write(work: work, tokenizer: tokenizer, to: output)
        let pipeline = try StableDiffusionPipeline(folder: output)
        #expect(pipeline.imageEncoder != nil && pipeline.unet.config.blockChannels == [32, 32, 32])
        let weights = try SafeTensorsFile(output.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
        #expect(try weights.entry("conv_in.weight").dtype == .f16)
        let exported = try weights.tensor("conv_in.weight").scalars
        #expect(zip(exported, before).allSatisfy { abs($0 - $1) < 1e-2 }, "the average, not the moved weights")
        let text16 = try SafeTensorsFile(output.appendingPathComponent("text_encoder/model.safetensors"))
        #expect(text16.names.allSatisfy { $0.hasPrefix("text_model.") })
        let head = try SafeTensorsFile(output.appendingPathComponent("text_projection/model.safetensors"))
        #expect(
            try head.entry("text_projection.weight").dtype == .f16
                && head.tensor("text_projection.weight").shape == [32, 32])
        #expect(
            try String(contentsOf: output.appendingPathComponent("unet/\(SubjectList.fileName)"), encoding: .utf8)
                == kept,
            "the UNet's subject list goes with it")
    }
}
