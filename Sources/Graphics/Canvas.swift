import Foundation
import Numerics

/// An RGB drawing surface for plots and labelled grids: alpha-blended rectangles, anti-aliased
/// lines, vertical bands and text in a compiled-in bitmap font (X11's public-domain 7x13 fixed font,
/// so text looks the same on every machine without font packages).
public struct Canvas {
    public typealias Color = (r: Float, g: Float, b: Float)
    public private(set) var image: Image

    public init(width: Int, height: Int, background: Color = (1, 1, 1)) {
        image = Image(width: width, height: height)
        fill(x: 0, y: 0, width: width, height: height, color: background)
    }

    public var width: Int { image.width }
    public var height: Int { image.height }

    /// Blends `color` into pixel (x, y) with coverage `alpha`.
    @inline(__always)
    public mutating func blend(_ x: Int, _ y: Int, _ color: Color, _ alpha: Float) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let a = min(alpha, 1)
        let plane = width * height
        let i = y * width + x
        image.pixels[i] += (color.r - image.pixels[i]) * a
        image.pixels[plane + i] += (color.g - image.pixels[plane + i]) * a
        image.pixels[2 * plane + i] += (color.b - image.pixels[2 * plane + i]) * a
    }

    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: Color, alpha: Float = 1) {
        for yy in max(0, y)..<min(height, y + h) {
            for xx in max(0, x)..<min(width, x + w) { blend(xx, yy, color, alpha) }
        }
    }

    /// An anti-aliased line of the given width: each pixel is covered by its distance to the segment.
    public mutating func line(
        _ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, color: Color, width lineWidth: Double = 2
    ) {
        let half = lineWidth / 2
        let (minX, maxX) = (Int((min(x0, x1) - half - 1).rounded(.down)), Int((max(x0, x1) + half + 1).rounded(.up)))
        let (minY, maxY) = (Int((min(y0, y1) - half - 1).rounded(.down)), Int((max(y0, y1) + half + 1).rounded(.up)))
        let (dx, dy) = (x1 - x0, y1 - y0)
        let length2 = max(dx * dx + dy * dy, 1e-12)
        for y in max(0, minY)...min(height - 1, max(0, maxY)) {
            for x in max(0, minX)...min(width - 1, max(0, maxX)) {
                let (px, py) = (Double(x) + 0.5, Double(y) + 0.5)
                let t = min(max(((px - x0) * dx + (py - y0) * dy) / length2, 0), 1)
                let (cx, cy) = (x0 + t * dx - px, y0 + t * dy - py)
                let distance = (cx * cx + cy * cy).squareRoot()
                blend(x, y, color, Float(min(max(half + 0.5 - distance, 0), 1)))
            }
        }
    }

    public mutating func polyline(_ points: [(Double, Double)], color: Color, width: Double = 2) {
        for (a, b) in zip(points, points.dropFirst()) { line(a.0, a.1, b.0, b.1, color: color, width: width) }
    }

    /// Fills between two curves given per pixel column x: (top, bottom) in pixels.
    public mutating func band(_ columns: [(x: Int, top: Double, bottom: Double)], color: Color, alpha: Float) {
        for c in columns {
            let (top, bottom) = (min(c.top, c.bottom), max(c.top, c.bottom))
            for y in max(0, Int(top.rounded(.down)))...min(height - 1, max(0, Int(bottom.rounded(.up)))) {
                // Partial coverage at the ends keeps edges smooth.
                let coverage = min(Double(y) + 1, bottom) - max(Double(y), top)
                blend(c.x, y, color, alpha * Float(min(max(coverage, 0), 1)))
            }
        }
    }

    /// The pixel width of `text` at `scale`.
    public static func textWidth(_ text: String, scale: Int = 1) -> Int {
        text.unicodeScalars.count * FixedFont.width * scale
    }
    public static func textHeight(scale: Int = 1) -> Int { FixedFont.height * scale }

    /// Draws `text` with its top-left corner at (x, y); `vertical` turns it 90° anticlockwise
    /// (for y-axis labels, reading bottom to top from (x, y) as the bottom-left corner).
    public mutating func text(
        _ text: String, x: Int, y: Int, color: Color = (0, 0, 0), scale: Int = 1, vertical: Bool = false
    ) {
        for (index, scalar) in text.unicodeScalars.enumerated() {
            guard let rows = FixedFont.glyphs[scalar.value] ?? FixedFont.glyphs[UInt32(("?" as Unicode.Scalar).value)]
            else { continue }
            for (row, bits) in rows.enumerated() {
                for column in 0..<FixedFont.width where bits & (0x80 >> UInt8(column)) != 0 {
                    for sy in 0..<scale {
                        for sx in 0..<scale {
                            let gx = (index * FixedFont.width + column) * scale + sx
                            let gy = row * scale + sy
                            if vertical { blend(x + gy, y - gx, color, 1) } else { blend(x + gx, y + gy, color, 1) }
                        }
                    }
                }
            }
        }
    }
}

extension Canvas {
    /// Images in rows of `columns`, each enlarged to at least `minimumSide` pixels (nearest
    /// neighbour, so small model outputs stay sharp) with its label underneath.
    public static func labelledGrid(_ images: [Image], labels: [String], columns: Int, minimumSide: Int = 128) -> Image
    {
        guard let first = images.first else { return Image(width: 1, height: 1) }
        let scale = max(1, (minimumSide + first.width - 1) / max(first.width, 1))
        let (w, h) = (first.width * scale, first.height * scale)
        let labelHeight = textHeight() + 6
        let gap = 8
        let cols = max(1, min(columns, images.count))
        let rows = (images.count + cols - 1) / cols
        let cellW = max(w, (labels.map { textWidth($0) }.max() ?? 0)) + gap
        var canvas = Canvas(width: cols * cellW + gap, height: rows * (h + labelHeight + gap) + gap)
        for (index, image) in images.enumerated() {
            let big = image.resized(width: image.width * scale, height: image.height * scale, filter: .nearest)
            let x0 = gap + (index % cols) * cellW + (cellW - gap - w) / 2
            let y0 = gap + (index / cols) * (h + labelHeight + gap)
            let plane = big.width * big.height
            for y in 0..<big.height {
                for x in 0..<big.width {
                    let i = y * big.width + x
                    canvas.blend(x0 + x, y0 + y, (big.pixels[i], big.pixels[plane + i], big.pixels[2 * plane + i]), 1)
                }
            }
            if index < labels.count {
                let label = labels[index]
                canvas.text(
                    label, x: gap + (index % cols) * cellW + (cellW - gap - textWidth(label)) / 2, y: y0 + h + 4)
            }
        }
        return canvas.image
    }
}
