import Foundation

/// Naive float64 implementations of every operation, written for clarity, not speed: the
/// references that the float32 kernels are checked against (forward) and differentiated
/// numerically (backward).
enum Reference {
    static func broadcastAdd(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int], _ f: (Double, Double) -> Double)
        -> [Double]
    {
        let rank = max(sa.count, sb.count)
        let pa = Array(repeating: 1, count: rank - sa.count) + sa
        let pb = Array(repeating: 1, count: rank - sb.count) + sb
        let out = zip(pa, pb).map { max($0, $1) }
        let n = out.reduce(1, *)
        func index(_ flat: Int, _ shape: [Int]) -> Int {
            var rest = flat
            var result = 0
            var step = 1
            var strides = [Int](repeating: 0, count: rank)
            for d in stride(from: rank - 1, through: 0, by: -1) {
                strides[d] = step
                step *= shape[d]
            }
            for d in stride(from: rank - 1, through: 0, by: -1) {
                let i = rest % out[d]
                rest /= out[d]
                result += (shape[d] == 1 ? 0 : i) * strides[d]
            }
            return result
        }
        return (0..<n).map { f(a[index($0, pa)], b[index($0, pb)]) }
    }

    /// [batch, m, k] · [k, n] or [batch, k, n]
    static func matmul(_ a: [Double], _ b: [Double], batch: Int, m: Int, k: Int, n: Int, sharedB: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: batch * m * n)
        for t in 0..<batch {
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k { s += a[t * m * k + i * k + p] * b[(sharedB ? 0 : t * k * n) + p * n + j] }
                    out[t * m * n + i * n + j] = s
                }
            }
        }
        return out
    }

    static func transpose(_ a: [Double], batch: Int, rows: Int, cols: Int) -> [Double] {
        var out = a
        for t in 0..<batch {
            for i in 0..<rows {
                for j in 0..<cols {
                    out[t * rows * cols + j * rows + i] = a[t * rows * cols + i * cols + j]
                }
            }
        }
        return out
    }

    static func conv2d(
        _ x: [Double], _ w: [Double], _ bias: [Double]?, n: Int, cin: Int, h: Int, wd: Int,
        cout: Int, kh: Int, kw: Int, stride: Int, padding: Int
    ) -> [Double] {
        let ho = (h + 2 * padding - kh) / stride + 1
        let wo = (wd + 2 * padding - kw) / stride + 1
        var out = [Double](repeating: 0, count: n * cout * ho * wo)
        for b in 0..<n {
            for o in 0..<cout {
                for y in 0..<ho {
                    for xx in 0..<wo {
                        var s = bias?[o] ?? 0
                        for c in 0..<cin {
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let iy = y * stride + ky - padding
                                    let ix = xx * stride + kx - padding
                                    if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                                        s +=
                                            x[((b * cin + c) * h + iy) * wd + ix]
                                            * w[((o * cin + c) * kh + ky) * kw + kx]
                                    }
                                }
                            }
                        }
                        out[((b * cout + o) * ho + y) * wo + xx] = s
                    }
                }
            }
        }
        return out
    }

    /// Normalises `groups` runs of `size` values; `channel(i)` picks the affine parameters.
    static func normalize(
        _ x: [Double], groups: Int, size: Int, weight: [Double]?, bias: [Double]?, eps: Double,
        channel: (Int) -> Int
    ) -> [Double] {
        var out = x
        for g in 0..<groups {
            let run = x[(g * size)..<((g + 1) * size)]
            let mean = run.reduce(0, +) / Double(size)
            let variance = run.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(size)
            for i in (g * size)..<((g + 1) * size) {
                out[i] =
                    (x[i] - mean) / (variance + eps).squareRoot() * (weight?[channel(i)] ?? 1)
                    + (bias?[channel(i)] ?? 0)
            }
        }
        return out
    }

    static func softmax(_ x: [Double], rows: Int, cols: Int) -> [Double] {
        var out = x
        for r in 0..<rows {
            let row = x[(r * cols)..<((r + 1) * cols)]
            let m = row.max()!
            let e = row.map { exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<cols { out[r * cols + j] = e[j] / s }
        }
        return out
    }

    static func attention(
        _ q: [Double], _ k: [Double], _ v: [Double], batch: Int, lq: Int, lk: Int, heads: Int,
        d: Int, dv: Int, causal: Bool
    ) -> [Double] {
        var out = [Double](repeating: 0, count: batch * lq * heads * dv)
        let scale = 1 / Double(d).squareRoot()
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<lq {
                    var scores = [Double](repeating: -.infinity, count: lk)
                    for j in 0..<lk where !causal || j <= i {
                        var s = 0.0
                        for p in 0..<d {
                            s += q[(b * lq + i) * heads * d + h * d + p] * k[(b * lk + j) * heads * d + h * d + p]
                        }
                        scores[j] = s * scale
                    }
                    let m = scores.max()!
                    let e = scores.map { $0 == -.infinity ? 0 : exp($0 - m) }
                    let total = e.reduce(0, +)
                    for p in 0..<dv {
                        var s = 0.0
                        for j in 0..<lk { s += e[j] / total * v[(b * lk + j) * heads * dv + h * dv + p] }
                        out[(b * lq + i) * heads * dv + h * dv + p] = s
                    }
                }
            }
        }
        return out
    }

    static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }
    static func geluTanh(_ x: Double) -> Double {
        0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }
    static func silu(_ x: Double) -> Double { x / (1 + exp(-x)) }
    static func quickGelu(_ x: Double) -> Double { x / (1 + exp(-1.702 * x)) }
}
