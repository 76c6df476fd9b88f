import Foundation
import Graphics
import Numerics

/// One emoji subject: its code point and its caption word(s), the lower-cased Unicode name.
public struct EmojiSubject: Sendable, Hashable {
    public let codePoint: UInt32
    public let name: String
}

/// The emoji of a colour font that gradti trains on: single code points with a bitmap and a Unicode
/// name, without the pieces that only make sense in sequences (regional indicators, skin-tone
/// modifiers, keycap bases, tag and joiner characters).
public struct EmojiCatalog: Sendable {
    /// Every subject, in code-point order.
    public let subjects: [EmojiSubject]
    /// Each subject's bitmap at `bitmapSide`², premultiplied RGBA planes (R, G, B, A), in [0, 1].
    let bitmaps: [UInt32: [Float]]
    public static let bitmapSide = 64

    /// - Parameter only: read just these code points (tests and quick tools).
    public init(font: ColorEmojiFont, only: Set<UInt32>? = nil) throws {
        let subjects = Self.subjects(in: font).filter { only?.contains($0.codePoint) ?? true }
        guard !subjects.isEmpty else { throw DatasetError("the font has no emoji bitmaps") }
        var bitmaps: [UInt32: [Float]] = [:]
        for subject in subjects {
            bitmaps[subject.codePoint] = Self.premultiplied(try font.bitmap(subject.codePoint), side: Self.bitmapSide)
        }
        self.subjects = subjects
        self.bitmaps = bitmaps
    }

    /// The font's subjects by name, without decoding any bitmap.
    public static func subjects(in font: ColorEmojiFont) -> [EmojiSubject] {
        font.codePoints.compactMap { codePoint in
            guard let scalar = Unicode.Scalar(codePoint), isSubject(scalar), let name = scalar.properties.name else {
                return nil
            }
            return EmojiSubject(codePoint: codePoint, name: name.lowercased())
        }
    }

    static func isSubject(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0xA9 { return false }  // digits, #, * (keycap bases)
        if (0x1F1E6...0x1F1FF).contains(v) { return false }  // regional indicators (flags)
        if (0x1F3FB...0x1F3FF).contains(v) { return false }  // skin-tone modifiers
        if (0x1F9B0...0x1F9B3).contains(v) { return false }  // hair components
        if (0xE0000...0xE007F).contains(v) || v == 0x200D || v == 0x20E3 || (0xFE00...0xFE0F).contains(v) {
            return false
        }
        return scalar.properties.isEmoji
    }

    /// The bitmap fitted into a side x side square (aspect kept, centred), premultiplied by alpha
    /// and area-averaged, so later scaling and compositing need no more decoding.
    static func premultiplied(_ image: RGBAImage, side: Int) -> [Float] {
        let (w, h) = (image.width, image.height)
        let plane = w * h
        var colour = [Float](repeating: 0, count: 3 * plane)
        var alpha = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            let a = Float(image.rgba[4 * i + 3]) / 255
            for c in 0..<3 {
                colour[c * plane + i] = Float(image.rgba[4 * i + c]) / 255 * a
                alpha[c * plane + i] = a
            }
        }
        let scale = Double(side) / Double(max(w, h))
        let (fw, fh) = (max(1, Int((Double(w) * scale).rounded())), max(1, Int((Double(h) * scale).rounded())))
        let small = Image(width: w, height: h, pixels: colour).resized(width: fw, height: fh, filter: .area)
        let smallAlpha = Image(width: w, height: h, pixels: alpha).resized(width: fw, height: fh, filter: .area)
        var out = [Float](repeating: 0, count: 4 * side * side)
        let (ox, oy) = ((side - fw) / 2, (side - fh) / 2)
        for y in 0..<fh {
            for x in 0..<fw {
                let o = (oy + y) * side + ox + x
                let s = y * fw + x
                for c in 0..<3 { out[c * side * side + o] = small.pixels[c * fw * fh + s] }
                out[3 * side * side + o] = smallAlpha.pixels[s]
            }
        }
        return out
    }

    public func subject(_ codePoint: UInt32) -> EmojiSubject? { subjects.first { $0.codePoint == codePoint } }

    /// The subjects the UNet trains on: all but the held-out benchmark.
    public var trainingSubjects: [EmojiSubject] {
        let held = Set(HeldOutSubjects.all.map(\.codePoint))
        return subjects.filter { !held.contains($0.codePoint) }
    }
}

/// The 30 subjects of gradti's inversion benchmark, never shown to the UNet: animals and objects in
/// the spirit of the DreamBooth set, each with a one-token word to start its vectors from: a coarse
/// word that names training subjects too (so the UNet knows it), as textual inversion's init words are.
public enum HeldOutSubjects {
    public struct Entry: Sendable {
        public let codePoint: UInt32
        /// A short name for files and placeholders.
        public let slug: String
        /// The initializer word (one CLIP token).
        public let initWord: String
    }

    public static let all: [Entry] = [
        Entry(codePoint: 0x1F415, slug: "dog", initWord: "dog"),
        Entry(codePoint: 0x1F408, slug: "cat", initWord: "cat"),
        Entry(codePoint: 0x1FAD6, slug: "teapot", initWord: "pot"),
        Entry(codePoint: 0x1F392, slug: "backpack", initWord: "bag"),
        Entry(codePoint: 0x1F9F8, slug: "teddy-bear", initWord: "bear"),
        Entry(codePoint: 0x1F56F, slug: "candle", initWord: "fire"),
        Entry(codePoint: 0x023F0, slug: "alarm-clock", initWord: "clock"),
        Entry(codePoint: 0x1F45F, slug: "sneaker", initWord: "shoe"),
        Entry(codePoint: 0x1F576, slug: "sunglasses", initWord: "glasses"),
        Entry(codePoint: 0x1F916, slug: "robot", initWord: "face"),
        Entry(codePoint: 0x1F986, slug: "duck", initWord: "bird"),
        Entry(codePoint: 0x1F9A5, slug: "sloth", initWord: "monkey"),
        Entry(codePoint: 0x1F43A, slug: "wolf", initWord: "dog"),
        Entry(codePoint: 0x1F4A9, slug: "poop", initWord: "face"),
        Entry(codePoint: 0x1F3CE, slug: "racing-car", initWord: "car"),
        Entry(codePoint: 0x1F3FA, slug: "vase", initWord: "jar"),
        Entry(codePoint: 0x1F462, slug: "boots", initWord: "boot"),
        Entry(codePoint: 0x1F963, slug: "bowl", initWord: "bowl"),
        Entry(codePoint: 0x1F980, slug: "crab", initWord: "lobster"),
        Entry(codePoint: 0x1F989, slug: "owl", initWord: "bird"),
        Entry(codePoint: 0x1F3B8, slug: "guitar", initWord: "violin"),
        Entry(codePoint: 0x1F302, slug: "umbrella", initWord: "umbrella"),
        Entry(codePoint: 0x1F335, slug: "cactus", initWord: "plant"),
        Entry(codePoint: 0x1F34D, slug: "pineapple", initWord: "apple"),
        Entry(codePoint: 0x1F354, slug: "hamburger", initWord: "food"),
        Entry(codePoint: 0x1F6B2, slug: "bicycle", initWord: "motorcycle"),
        Entry(codePoint: 0x1F4A1, slug: "light-bulb", initWord: "light"),
        Entry(codePoint: 0x1F451, slug: "crown", initWord: "crown"),
        Entry(codePoint: 0x1F40C, slug: "snail", initWord: "bug"),
        Entry(codePoint: 0x1F680, slug: "rocket", initWord: "airplane")
    ]
}
