import Diffusion
import Foundation
import Graphics
import Numerics
import TestSupport
import Testing

@testable import Inversion

@Suite struct ConceptPreparationTests {
    /// flip=P mirrors a share P of the draws; ½ mirrors exactly the draws textual inversion always did
    /// (the lowest bit), so sessions and studies made before flip= stay reproducible.
    @Test func theMirrorChanceIsHeldAndTheDefaultUnchanged() {
        var generator = RandomGenerator(seed: 11)
        let draws = (0..<20_000).map { _ in generator.next() }
        #expect(draws.allSatisfy { ConceptPreparation.mirrors($0, chance: 0.5) == ($0 & 1 == 1) })
        #expect(!draws.contains { ConceptPreparation.mirrors($0, chance: 0) })
        #expect(draws.allSatisfy { ConceptPreparation.mirrors($0, chance: 1) })
        let share = Double(draws.filter { ConceptPreparation.mirrors($0, chance: 0.2) }.count) / Double(draws.count)
        #expect(abs(share - 0.2) < 0.015, "mirrored \(share) of the draws at chance 0.2")
    }

    /// Random crops keep the whole picture (shorter side at most twice the training side) and draw squares
    /// of ½ to 1 times the shorter side, inside the picture, resized to the side.
    @Test func randomCropsStayInsideAndCoverTheScales() {
        let photo = Image(width: 300, height: 200, pixels: (0..<(3 * 300 * 200)).map { Float($0 % 300) / 300 })
        let kept = ConceptPreparation(crop: .random).kept(photo, side: 40)
        #expect((kept.width, kept.height) == (120, 80))
        let small = ConceptPreparation(crop: .random).kept(Image(width: 30, height: 20), side: 40)
        #expect((small.width, small.height) == (60, 40))
        #expect(ConceptPreparation().kept(photo, side: 40) == photo.prepared(size: 40))
        var generator = RandomGenerator(seed: 5)
        var means: [Float] = []
        for _ in 0..<200 {
            let crop = ConceptPreparation.randomCrop(kept, side: 40, using: &generator)
            #expect(crop.width == 40 && crop.height == 40)
            means.append(crop.pixels.prefix(1600).reduce(0, +) / 1600)
        }
        // The red ramp runs left to right: crops at different places see different means.
        #expect((means.max() ?? 0) - (means.min() ?? 0) > 0.2)
    }

    @Test func theResolutionMustSuitTheModel() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixture.appendingPathComponent("pipeline"))
        // sd-tiny: 16 pixels natively, a step of 4 (the VAE's 2 times the UNet's 2).
        for good in [8, 12, 16] { try ConceptPreparation(resolution: good).validate(on: pipeline) }
        for bad in [4, 10, 20] {
            #expect { try ConceptPreparation(resolution: bad).validate(on: pipeline) } throws: {
                String(describing: $0).contains("a multiple of 4 from 8 to its native 16")
            }
        }
        #expect(throws: InversionError.self) { try ConceptPreparation(flip: 1.5).validate(on: pipeline) }
    }

    /// A concept trained below the native size, with random crops and no mirror images: it trains, and a
    /// saved session (images of their own sizes, padded in the file) continues exactly.
    @Test(arguments: [
        ConceptPreparation(crop: .random, flip: 0, resolution: 12), ConceptPreparation(flip: 0.25, resolution: 8)
    ])
    func preparedConceptsTrainAndResumeExactly(preparation: ConceptPreparation) throws {
        let pipeline = try StableDiffusionPipeline(folder: fixture.appendingPathComponent("pipeline"))
        let original = InversionSession(pipeline: pipeline)
        let folder = try Scratch.folder("gradti-prepared")
        var urls = try conceptImages(2)
        // A portrait photo beside the landscape ones: random crops keep each one's shape.
        let portrait = folder.appendingPathComponent("portrait.png")
        try Image(width: 18, height: 30, pixels: (0..<(3 * 18 * 30)).map { Float($0 % 7) / 7 }).writePNG(to: portrait)
        urls.append(portrait)
        try original.setConcept(name: "thing", images: urls, initWord: "cat", preparation: preparation)
        let concept = try #require(original.concept)
        #expect(concept.preparation == preparation)
        let side = preparation.resolution ?? 16
        if preparation.crop == .center {
            #expect(concept.images.allSatisfy { $0.width == side && $0.height == side })
        } else {
            #expect(
                concept.images.map { min($0.width, $0.height) } == [20, 20, 18].map { min(max($0, side), 2 * side) })
        }
        let (_, sample, _) = try original.batch(size: 2, timesteps: [10, 500])
        #expect(Array(sample.shape.suffix(2)) == [side / 2, side / 2])
        for _ in 0..<2 { try original.step() }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "gradti-prepared-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try original.saveSession(to: file)
        let copy = InversionSession(
            pipeline: try StableDiffusionPipeline(folder: fixture.appendingPathComponent("pipeline")))
        try copy.loadSession(from: file)
        #expect(copy.concept?.preparation == preparation)
        #expect(copy.concept?.images == concept.images)
        for _ in 0..<2 {
            let (a, b) = (try original.step(), try copy.step())
            #expect(a.timesteps == b.timesteps && a.loss == b.loss)
        }
        #expect(copy.vectors!.scalars == original.vectors!.scalars)
    }
}
