import Foundation
import Numerics
import TestSupport
import Testing

@testable import Diffusion

@Suite struct VAETests {
    let reference: Reference

    init() throws {
        reference = try Reference(Fixtures.sdTinyFolder.appendingPathComponent("reference.safetensors"))
    }

    @Test func encodeAndDecodeMatchDiffusers() throws {
        let vae = try AutoencoderKL(folder: sdTiny.appendingPathComponent("vae"))
        let (mean, logVariance) = vae.encode(try reference.tensor("vae.image"))
        #expect(try reference.error(mean, "vae.posterior_mean") < 1e-4)
        #expect(try reference.error(logVariance, "vae.posterior_logvar") < 1e-4)
        #expect(try reference.error(vae.decode(try reference.tensor("vae.latents")), "vae.decoded") < 1e-4)
        #expect(vae.config.scalingFactor == 0.18215)
    }
}
