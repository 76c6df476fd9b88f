import Foundation
import Numerics
import TestSupport
import Testing

@testable import Diffusion

@Suite struct UNetTests {
    let reference: Reference

    init() throws {
        reference = try Reference(Fixtures.sdTinyFolder.appendingPathComponent("reference.safetensors"))
    }

    @Test func forwardLossAndGradientsMatchDiffusers() throws {
        let unet = try UNet2DConditionModel(folder: sdTiny.appendingPathComponent("unet"))
        let text = try CLIPTextModel(folder: sdTiny.appendingPathComponent("text_encoder"))
        let timesteps = try reference.ids("unet.timestep").values.map(Float.init)
        let sample = try reference.tensor("unet.sample")
        let target = try reference.tensor("unet.target")

        // Forward on the reference conditioning, and the conditioning gradient (g(t)'s integrand).
        let context = try reference.tensor("text.last_hidden_state")
        context.requiresGrad = true
        let out = unet(sample, timesteps: timesteps, context: context)
        #expect(try reference.error(out, "unet.out") < 1e-4)
        let loss = Tensor.mse(out, target)
        #expect(try reference.error(loss, "unet.loss") < 1e-4)
        loss.backward()
        #expect(try reference.error(try #require(context.grad), "grad.encoder_hidden_states") < 1e-3)

        // Through our text encoder to the token embeddings: what textual inversion optimises.
        let ids = try reference.ids("text.input_ids")
        let embeddings = text.tokenEmbeddings(ids).detached()
        embeddings.requiresGrad = true
        let encoded = text.encode(tokenEmbeddings: embeddings, ids: ids).lastHidden
        Tensor.mse(unet(sample, timesteps: timesteps, context: encoded), target).backward()
        #expect(try reference.error(try #require(embeddings.grad), "grad.token_embeddings") < 1e-3)
    }

    /// Training needs the gradient of every weight, which the conditioning gradient above does not reach:
    /// a UNet of the embedded model's architecture (narrower), against diffusers in float64.
    @Test func weightGradientsMatchDiffusers() throws {
        let folder = fixtures.appendingPathComponent("unet-training")
        let reference = try Reference(folder.appendingPathComponent("reference.safetensors"))
        let unetFolder = folder.appendingPathComponent("unet")
        let unet = try UNet2DConditionModel(folder: unetFolder)
        for (_, weight) in unet.parameters.named { weight.requiresGrad = true }
        let timesteps = try reference.ids("unet.timestep").values.map(Float.init)
        let out = unet(
            try reference.tensor("unet.sample"), timesteps: timesteps, context: try reference.tensor("unet.context"))
        let loss = Tensor.mse(out, try reference.tensor("unet.target"))
        #expect(try reference.error(loss, "unet.loss") < 1e-4)
        loss.backward()
        #expect(unet.parameters.count == reference.file.names.filter { $0.hasPrefix("grad.") }.count)
        for (name, weight) in unet.parameters.named {
            let gradient = try #require(weight.grad, "no gradient for \(name)")
            let error = try reference.error(gradient, "grad." + name)
            #expect(error < 1e-3, "\(name): relative error \(error)")
        }
    }
}
