import Diffusion
import Foundation
import Graphics
import Numerics

/// How a concept's images become training samples: the crop, the chance of a mirror image, and the
/// training resolution (the knobs of diffusers' and kohya's scripts).
public struct ConceptPreparation: Codable, Equatable, Sendable {
    public enum Crop: String, Codable, CaseIterable, Sendable {
        /// The centre square, resized once (diffusers' `--center_crop`): the images are encoded once.
        case center
        /// At each draw, a square of ½ to 1 times the shorter side at a random place, resized: more variety,
        /// one VAE encoding per sample (kohya's `--random_crop`, torchvision's RandomResizedCrop of ratio 1).
        case random
    }

    public var crop = Crop.center
    /// The chance that a draw is mirrored; nil: 0.5 (textual inversion's), or 0 for captioned images,
    /// whose captions may name a side.
    public var flip: Double?
    /// The side of the training images; nil: the model's native size.
    public var resolution: Int?

    public init(crop: Crop = .center, flip: Double? = nil, resolution: Int? = nil) {
        (self.crop, self.flip, self.resolution) = (crop, flip, resolution)
    }

    /// The chance of a mirror image for a concept of `kind`.
    public func flipChance(_ kind: ConceptKind) -> Double { flip ?? (kind == .captions ? 0 : 0.5) }

    /// The training side on `pipeline`.
    public func side(on pipeline: StableDiffusionPipeline) -> Int { resolution ?? Self.nativeSide(pipeline) }

    static func nativeSide(_ pipeline: StableDiffusionPipeline) -> Int {
        pipeline.unet.config.sampleSize * pipeline.vae.config.downscale
    }

    /// The step of usable sides: the VAE's downscale times the UNet's (64 for Stable Diffusion).
    static func sideUnit(_ pipeline: StableDiffusionPipeline) -> Int {
        pipeline.vae.config.downscale << max(pipeline.unet.config.blockChannels.count - 1, 0)
    }

    public func validate(on pipeline: StableDiffusionPipeline) throws {
        if let flip, !(0...1).contains(flip) { throw InversionError("flip is a chance between 0 and 1, not \(flip)") }
        guard let resolution else { return }
        let (unit, native) = (Self.sideUnit(pipeline), Self.nativeSide(pipeline))
        let lowest = min(2 * unit, native)
        guard resolution % unit == 0, (lowest...native).contains(resolution) else {
            throw InversionError(
                "resolution=\(resolution) does not suit this model: a multiple of \(unit) from \(lowest) to its "
                    + "native \(native)")
        }
    }

    /// An image as kept in the concept: the centre square at the training side, or, for random crops,
    /// the whole picture with its shorter side at most twice the training side (never the megapixels of
    /// the original).
    func kept(_ image: Image, side: Int) -> Image {
        switch crop {
        case .center: return image.prepared(size: side)
        case .random:
            let shorter = min(image.width, image.height)
            let target = min(max(shorter, side), 2 * side)
            guard target != shorter else { return image }
            let scale = Double(target) / Double(shorter)
            return image.resampledBicubic(
                width: max(target, Int((Double(image.width) * scale).rounded())),
                height: max(target, Int((Double(image.height) * scale).rounded())))
        }
    }

    /// A random square crop of a kept image resized to `side`: its side uniform in ½…1 of the shorter side,
    /// its place uniform.
    static func randomCrop(_ image: Image, side: Int, using generator: inout RandomGenerator) -> Image {
        let shorter = min(image.width, image.height)
        let lowest = max(1, (shorter + 1) / 2)
        let size = lowest + Int(generator.next() % UInt64(shorter - lowest + 1))
        let x = Int(generator.next() % UInt64(image.width - size + 1))
        let y = Int(generator.next() % UInt64(image.height - size + 1))
        let square = image.cropped(x: x, y: y, width: size, height: size)
        return size == side ? square : square.resampledBicubic(width: side, height: side)
    }

    /// Whether a draw is mirrored, from one draw of the generator: a uniform number whose upper half is
    /// chosen by the draw's lowest bit, so the default chance ½ mirrors exactly the draws it always did.
    static func mirrors(_ bits: UInt64, chance: Double) -> Bool {
        let uniform = (bits & 1 == 1 ? 0 : 0.5) + Double(bits >> 12) / Double(1 << 53)
        return uniform < chance
    }

    public var summary: String {
        var parts = ["crop=\(crop.rawValue)"]
        if let flip { parts.append("flip=\(flip)") }
        if let resolution { parts.append("resolution=\(resolution)") }
        return parts.joined(separator: " ")
    }
}
