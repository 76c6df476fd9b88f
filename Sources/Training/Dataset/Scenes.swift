import Foundation
import Graphics
import Numerics

/// The named background colours of the scenes.
public enum Palette {
    public static let colors: [(name: String, rgb: (Float, Float, Float))] = [
        ("red", (0.86, 0.16, 0.16)), ("orange", (0.96, 0.55, 0.12)), ("yellow", (0.98, 0.86, 0.20)),
        ("green", (0.20, 0.65, 0.25)), ("teal", (0.10, 0.60, 0.60)), ("blue", (0.15, 0.35, 0.85)),
        ("purple", (0.55, 0.25, 0.70)), ("pink", (0.96, 0.60, 0.75)), ("brown", (0.50, 0.32, 0.18)),
        ("gray", (0.55, 0.55, 0.55)), ("black", (0.08, 0.08, 0.08)), ("white", (0.97, 0.97, 0.97))
    ]
}

/// One training picture: an emoji on a background, and its caption.
public struct Scene {
    public let image: Image
    public let caption: String
    public let subject: EmojiSubject
    public let layout: SceneLayout
}

/// How a scene is laid out; drawn at random, or chosen (the benchmark's concept images).
public struct SceneLayout: Sendable {
    /// The emoji's size as a share of the canvas side, 0.4 to 0.9.
    public var scale: Double
    /// Top-left corner as a share of the free room (0: left/top edge, 1: right/bottom edge).
    public var x: Double, y: Double
    /// Palette indices: the background, and the lower half's colour for two-tone backgrounds.
    public var background: Int, lower: Int?

    public static func random(using g: inout RandomGenerator, twoTone: Double = 0.3) -> SceneLayout {
        let background = Int(g.next() % UInt64(Palette.colors.count))
        var lower: Int?
        if g.uniformDouble() < twoTone {
            lower = (background + 1 + Int(g.next() % UInt64(Palette.colors.count - 1))) % Palette.colors.count
        }
        return SceneLayout(
            scale: 0.4 + 0.5 * g.uniformDouble(), x: g.uniformDouble(), y: g.uniformDouble(),
            background: background, lower: lower)
    }

    var sizeWord: String { scale < 0.55 ? "small" : (scale < 0.75 ? "medium" : "large") }

    /// Where the emoji's centre lies: "top left", "right", "center", …
    func placeWord(side: Int) -> String {
        let size = Double(pixelSize(side: side))
        let room = Double(side) - size
        func third(_ share: Double, _ low: String, _ high: String) -> String {
            let centre = (share * room + size / 2) / Double(side)
            return centre < 0.4 ? low : (centre > 0.6 ? high : "")
        }
        let words = [third(y, "top", "bottom"), third(x, "left", "right")].filter { !$0.isEmpty }
        return words.isEmpty ? "center" : words.joined(separator: " ")
    }

    func pixelSize(side: Int) -> Int { max(1, Int((scale * Double(side)).rounded())) }

    var backgroundWords: String {
        let top = Palette.colors[background].name
        return lower.map { "\(top) and \(Palette.colors[$0].name)" } ?? top
    }
}

/// Emoji scenes at `side`² pixels with captions like "a crab on a yellow background, small, left".
/// Scene `i` of a seed is always the same picture, so the stream is endless and resumable.
public struct SceneGenerator {
    public let catalog: EmojiCatalog
    public let subjects: [EmojiSubject]
    public let side: Int
    public let seed: UInt64

    public init(catalog: EmojiCatalog, subjects: [EmojiSubject], side: Int = 32, seed: UInt64 = 0) {
        self.catalog = catalog
        self.subjects = subjects
        self.side = side
        self.seed = seed
    }

    public func scene(_ index: Int) -> Scene {
        var g = RandomGenerator(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        let subject = subjects[Int(g.next() % UInt64(subjects.count))]
        return render(subject, layout: .random(using: &g))
    }

    public static func caption(_ subject: EmojiSubject, layout: SceneLayout, side: Int) -> String {
        caption(naming: subject.name, layout: layout, side: side)
    }

    /// The caption with `name` as the subject; `{}` gives a concept image's caption file.
    public static func caption(naming name: String, layout: SceneLayout, side: Int) -> String {
        "\(article(name)) \(name) on \(article(layout.backgroundWords)) \(layout.backgroundWords) background, "
            + "\(layout.sizeWord), \(layout.placeWord(side: side))"
    }

    /// "a" or "an", by the first letter (good enough for emoji names and colours).
    static func article(_ word: String) -> String { "aeiou".contains(word.first ?? "x") ? "an" : "a" }

    /// Draws `subject` with `layout`: the background, then the emoji composited over it.
    public func render(_ subject: EmojiSubject, layout: SceneLayout) -> Scene {
        let plane = side * side
        var pixels = [Float](repeating: 0, count: 3 * plane)
        for y in 0..<side {
            let colour = Palette.colors[(layout.lower != nil && y >= side / 2) ? layout.lower! : layout.background].rgb
            for x in 0..<side {
                pixels[y * side + x] = colour.0
                pixels[plane + y * side + x] = colour.1
                pixels[2 * plane + y * side + x] = colour.2
            }
        }
        if let bitmap = catalog.bitmaps[subject.codePoint] {
            let n = EmojiCatalog.bitmapSide
            let size = layout.pixelSize(side: side)
            let colour = Image(width: n, height: n, pixels: Array(bitmap[0..<(3 * n * n)])).resized(
                width: size, height: size, filter: .area)
            let alpha = Image(
                width: n, height: n, pixels: Array(Array(repeating: bitmap[(3 * n * n)...], count: 3).joined())
            )
            .resized(width: size, height: size, filter: .area)
            let room = side - size
            let (x0, y0) = (Int((layout.x * Double(room)).rounded()), Int((layout.y * Double(room)).rounded()))
            for y in 0..<size {
                for x in 0..<size {
                    let s = y * size + x
                    let o = (y0 + y) * side + x0 + x
                    let a = alpha.pixels[s]
                    for c in 0..<3 {
                        pixels[c * plane + o] = colour.pixels[c * size * size + s] + (1 - a) * pixels[c * plane + o]
                    }
                }
            }
        }
        return Scene(
            image: Image(width: side, height: side, pixels: pixels),
            caption: Self.caption(subject, layout: layout, side: side), subject: subject, layout: layout)
    }
}
