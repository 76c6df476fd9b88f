import Foundation

/// Pillow's `Image.resize(…, resample=BICUBIC)` for 8-bit images, which diffusers' textual-inversion
/// script trains on: a separable bicubic filter (a = −0.5) whose support widens with the reduction
/// factor (antialiasing), horizontal pass first, each pass rounded to 8 bits as Pillow's is.
extension Image {
    public func resampledBicubic(width newWidth: Int, height newHeight: Int) -> Image {
        if newWidth == width && newHeight == height { return self }
        // 8-bit levels, as decoded files are and as Pillow works.
        var levels = pixels.map { ($0.isNaN ? 0 : min(max($0, 0), 1)) * 255 }
        var (w, h) = (width, height)
        if newWidth != w {
            levels = Self.pass(levels, channels: 3, lines: h, from: w, to: newWidth, stride: 1, along: w)
            w = newWidth
        }
        if newHeight != h {
            levels = Self.pass(levels, channels: 3, lines: w, from: h, to: newHeight, stride: w, along: 1)
            h = newHeight
        }
        var out = Image(width: w, height: h)
        out.pixels = levels.map { $0 / 255 }
        return out
    }

    /// Pillow's bicubic kernel.
    static func bicubic(_ t: Double) -> Double {
        let x = abs(t)
        let a = -0.5
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// For each output index, its first input index and normalised weights (Pillow's
    /// `precompute_coeffs`).
    static func coefficients(from inSize: Int, to outSize: Int) -> [(first: Int, weights: [Double])] {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 2 * filterScale
        return (0..<outSize).map { i in
            let center = (Double(i) + 0.5) * scale
            let first = max(Int(center - support + 0.5), 0)
            let last = min(Int(center + support + 0.5), inSize)
            var weights = (first..<last).map { bicubic((Double($0) - center + 0.5) / filterScale) }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            return (first, weights)
        }
    }

    /// One pass over planar levels: each of `lines` lines per channel, `from` samples apart by `stride`,
    /// becomes `to` samples; lines start `along` apart. Results are rounded and clipped to 0...255.
    static func pass(
        _ levels: [Float], channels: Int, lines: Int, from inSize: Int, to outSize: Int, stride: Int, along: Int
    ) -> [Float] {
        let coefficients = coefficients(from: inSize, to: outSize)
        let inPlane = lines * inSize
        let outPlane = lines * outSize
        // The output keeps the same layout with `outSize` in place of `inSize`.
        let outStride = stride == 1 ? 1 : lines
        let outAlong = stride == 1 ? outSize : 1
        var out = [Float](repeating: 0, count: channels * outPlane)
        for c in 0..<channels {
            for line in 0..<lines {
                let base = c * inPlane + line * along
                for (i, (first, weights)) in coefficients.enumerated() {
                    var sum = 0.0
                    for (k, weight) in weights.enumerated() {
                        sum += weight * Double(levels[base + (first + k) * stride])
                    }
                    out[c * outPlane + line * outAlong + i * outStride] = Float(
                        min(max((sum + 0.5).rounded(.down), 0), 255))
                }
            }
        }
        return out
    }
}
