import Foundation
import Numerics

/// A planar RGB image with values in 0...1: the form in which pictures enter and leave models.
public struct Image: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Channel-major: all red values, then green, then blue; rows top to bottom.
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]? = nil) {
        self.width = width
        self.height = height
        self.pixels = pixels ?? [Float](repeating: 0, count: 3 * width * height)
    }

    public enum Filter: Sendable { case area, bilinear, nearest }

    /// Resamples to `width`x`height`. `area` averages exactly the source area under each target
    /// pixel (for shrinking); `bilinear` interpolates between pixel centres (for enlarging);
    /// `nearest` repeats pixels (for showing small images large and sharp).
    public func resized(width newWidth: Int, height newHeight: Int, filter: Filter) -> Image {
        var out = Image(width: newWidth, height: newHeight)
        let sx = Double(width) / Double(newWidth)
        let sy = Double(height) / Double(newHeight)
        for c in 0..<3 {
            let src = c * width * height
            let dst = c * newWidth * newHeight
            for y in 0..<newHeight {
                for x in 0..<newWidth {
                    let value: Double
                    switch filter {
                    case .nearest:
                        value = Double(
                            pixels[
                                src + min(height - 1, Int(Double(y) * sy)) * width + min(width - 1, Int(Double(x) * sx))
                            ])
                    case .bilinear:
                        let fy = max(0, (Double(y) + 0.5) * sy - 0.5)
                        let fx = max(0, (Double(x) + 0.5) * sx - 0.5)
                        let y0 = min(Int(fy), height - 1)
                        let x0 = min(Int(fx), width - 1)
                        let y1 = min(y0 + 1, height - 1)
                        let x1 = min(x0 + 1, width - 1)
                        let wy = fy - Double(y0)
                        let wx = fx - Double(x0)
                        func p(_ yy: Int, _ xx: Int) -> Double { Double(pixels[src + yy * width + xx]) }
                        value =
                            (1 - wy) * ((1 - wx) * p(y0, x0) + wx * p(y0, x1)) + wy
                            * ((1 - wx) * p(y1, x0) + wx * p(y1, x1))
                    case .area:
                        let y0 = Double(y) * sy
                        let y1 = y0 + sy
                        let x0 = Double(x) * sx
                        let x1 = x0 + sx
                        var total = 0.0
                        var yy = Int(y0)
                        while Double(yy) < y1 && yy < height {
                            let hy = min(y1, Double(yy + 1)) - max(y0, Double(yy))
                            var xx = Int(x0)
                            while Double(xx) < x1 && xx < width {
                                let hx = min(x1, Double(xx + 1)) - max(x0, Double(xx))
                                total += hy * hx * Double(pixels[src + yy * width + xx])
                                xx += 1
                            }
                            yy += 1
                        }
                        value = total / (sx * sy)
                    }
                    out.pixels[dst + y * newWidth + x] = Float(value)
                }
            }
        }
        return out
    }

    /// The centred square of side min(width, height), as textual inversion prepares its images.
    public func centerSquare() -> Image {
        cropped(
            x: (width - min(width, height)) / 2, y: (height - min(width, height)) / 2,
            width: min(width, height), height: min(width, height))
    }

    public func cropped(x: Int, y: Int, width newWidth: Int, height newHeight: Int) -> Image {
        var out = Image(width: newWidth, height: newHeight)
        for c in 0..<3 {
            for row in 0..<newHeight {
                for col in 0..<newWidth {
                    out.pixels[(c * newHeight + row) * newWidth + col] =
                        pixels[(c * height + y + row) * width + x + col]
                }
            }
        }
        return out
    }

    /// Center-cropped to a square and resized to `size`x`size` with Pillow's antialiased bicubic, as
    /// diffusers' textual-inversion script prepares its images (an image already of that size is kept).
    public func prepared(size: Int) -> Image {
        centerSquare().resampledBicubic(width: size, height: size)
    }

    public func flippedHorizontally() -> Image {
        var out = self
        for c in 0..<3 {
            for y in 0..<height {
                for x in 0..<width {
                    out.pixels[(c * height + y) * width + x] = pixels[(c * height + y) * width + width - 1 - x]
                }
            }
        }
        return out
    }

    /// Images side by side in rows of `columns`, separated by `gap` pixels of `background`.
    public static func grid(_ images: [Image], columns: Int, gap: Int = 2, background: Float = 1) -> Image {
        guard let first = images.first else { return Image(width: 1, height: 1) }
        let (w, h) = (first.width, first.height)
        let cols = max(1, min(columns, images.count))
        let rows = (images.count + cols - 1) / cols
        let width = cols * w + (cols - 1) * gap
        let height = rows * h + (rows - 1) * gap
        var out = Image(width: width, height: height, pixels: [Float](repeating: background, count: 3 * width * height))
        for (index, image) in images.enumerated() {
            let (x0, y0) = ((index % cols) * (w + gap), (index / cols) * (h + gap))
            for c in 0..<3 {
                for y in 0..<min(h, image.height) {
                    for x in 0..<min(w, image.width) {
                        out.pixels[(c * height + y0 + y) * width + x0 + x] =
                            image.pixels[(c * image.height + y) * image.width + x]
                    }
                }
            }
        }
        return out
    }

    /// As a model input: [1, 3, H, W] in −1...1.
    public func tensor() -> Tensor { Tensor(pixels.map { $0 * 2 - 1 }, shape: [1, 3, height, width]) }

    /// From a model output [1, 3, H, W] or [3, H, W] in −1...1 (clamped).
    public init(tensor: Tensor) {
        let h = tensor.dim(-2)
        let w = tensor.dim(-1)
        precondition(tensor.count == 3 * h * w, "Image: expects one RGB image, got \(tensor.shape)")
        self.init(width: w, height: h, pixels: tensor.scalars.map { min(max(($0 + 1) / 2, 0), 1) })
    }

    /// Interleaved 8-bit RGB, rounded. Never traps: NaN becomes 0 (black) and infinities clamp,
    /// so a diverged model shows a black image instead of ending the kernel.
    public var rgb8: [UInt8] {
        let plane = width * height
        var out = [UInt8](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 {
                let value = pixels[c * plane + i]
                out[3 * i + c] = value.isNaN ? 0 : UInt8((min(max(value, 0), 1) * 255).rounded())
            }
        }
        return out
    }

    public func pngData() throws -> Data { try PNG.encode(rgb: rgb8, width: width, height: height) }

    public func writePNG(to url: URL) throws {
        do { try FileAccess.writeAtomically(pngData(), to: url) } catch let error as PNGError { throw error } catch {
            throw PNGError(description: String(describing: error))
        }
    }

    /// Reads a PNG, JPEG or WebP image of any kind, upright (EXIF orientation); transparency is
    /// composited over `background` (white by default).
    public static func read(_ url: URL, background: (Float, Float, Float) = (1, 1, 1)) throws -> Image {
        try ImageFile.read(url).composited(over: background)
    }
}
