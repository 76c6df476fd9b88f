import CKernels
import Foundation

/// Layer norm, group norm and softmax, with the standard closed-form backward passes
/// (see llm.c's layernorm_backward): dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)).
extension Tensor {
    /// Normalises over the last dimension, then scales and shifts per feature (`torch.nn.LayerNorm`).
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        let d = shape[rank - 1]
        let rows = count / max(d, 1)
        precondition(
            weight.map { $0.count == d } ?? true && bias.map { $0.count == d } ?? true,
            "layerNorm: parameters do not match \(d) features")
        return normalize(
            NormLayout(groups: rows, groupsPerSample: 1, channelsPerGroup: d, run: 1),
            weight: weight, bias: bias, eps: eps, name: "layer_norm")
    }

    /// Normalises each of `groups` channel groups of an [N, C, ...] tensor, then scales and shifts
    /// per channel (`torch.nn.GroupNorm`).
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        let n = shape[0]
        let c = shape[1]
        let spatial = count / max(n * c, 1)
        precondition(c % groups == 0, "groupNorm: \(c) channels do not split into \(groups) groups")
        return normalize(
            NormLayout(groups: n * groups, groupsPerSample: groups, channelsPerGroup: c / groups, run: spatial),
            weight: weight, bias: bias, eps: eps, name: "group_norm")
    }

    /// The shared kernel: each group is `channelsPerGroup` runs of `run` contiguous values with one
    /// affine parameter per run (layer norm: runs of 1; group norm: runs of H·W).
    private func normalize(_ layout: NormLayout, weight: Tensor?, bias: Tensor?, eps: Float, name: String) -> Tensor {
        let x = self
        let out = Tensor(uninitialized: shape)
        let (groups, size, perGroup, run) = (layout.groups, layout.size, layout.channelsPerGroup, layout.run)
        var mean = [Float](repeating: 0, count: groups)
        var rstd = [Float](repeating: 0, count: groups)
        let px = x.data
        let po = out.data
        let pw = weight?.data
        let pb = bias?.data
        mean.withUnsafeMutableBufferPointer { meanBuffer in
            rstd.withUnsafeMutableBufferPointer { rstdBuffer in
                let pm = meanBuffer.baseAddress!
                let pr = rstdBuffer.baseAddress!
                parallelFor(groups, costPerItem: size * 4) { g in
                    let start = g * size
                    let (m, r) = moments(px + start, size, eps)
                    pm[g] = m
                    pr[g] = r
                    let c0 = layout.firstChannel(g)
                    if run == 1, let pw, let pb {
                        // Layer norm: one parameter per value, a loop that vectorises.
                        let src = px + start
                        let dst = po + start
                        let w = pw + c0
                        let b = pb + c0
                        for k in 0..<perGroup { dst[k] = (src[k] - m) * r * w[k] + b[k] }
                        return
                    }
                    for k in 0..<perGroup {
                        let scale = r * (pw?[c0 + k] ?? 1)
                        let shift = (pb?[c0 + k] ?? 0) - m * scale
                        let src = px + start + k * run
                        let dst = po + start + k * run
                        for s in 0..<run { dst[s] = src[s] * scale + shift }
                    }
                }
            }
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return out.recording(name, inputs) { g, needs in
            let pg = g.data
            var dx: Tensor?
            if needs[0] {
                let d = Tensor(uninitialized: x.shape)
                let pd = d.data
                parallelFor(groups, costPerItem: size * 6) { grp in
                    let start = grp * size
                    let m = mean[grp]
                    let r = rstd[grp]
                    let c0 = layout.firstChannel(grp)
                    // dx = r · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)) with dx̂ = g · weight.
                    var sumD: Float = 0
                    var sumDX: Float = 0
                    if run == 1 {
                        // Layer norm: the weighted sums over the whole group at once.
                        gk_norm_backward_sums(
                            pg + start, px + start, pw.map { UnsafePointer($0 + c0) }, m, perGroup, &sumD, &sumDX)
                        sumDX *= r
                    } else {
                        for k in 0..<perGroup {
                            let w = pw?[c0 + k] ?? 1
                            var a: Float = 0
                            var b: Float = 0
                            gk_norm_backward_sums(pg + start + k * run, px + start + k * run, nil, m, run, &a, &b)
                            sumD += w * a
                            sumDX += w * b * r
                        }
                    }
                    let meanD = sumD / Float(size)
                    let meanDX = sumDX / Float(size)
                    if run == 1 {
                        let gs = pg + start
                        let xs = px + start
                        let ds = pd + start
                        if let pw {
                            let w = pw + c0
                            for k in 0..<perGroup { ds[k] = r * (gs[k] * w[k] - meanD - (xs[k] - m) * r * meanDX) }
                        } else {
                            for k in 0..<perGroup { ds[k] = r * (gs[k] - meanD - (xs[k] - m) * r * meanDX) }
                        }
                        return
                    }
                    for k in 0..<perGroup {
                        let w = pw?[c0 + k] ?? 1
                        let gs = pg + start + k * run
                        let xs = px + start + k * run
                        let ds = pd + start + k * run
                        for s in 0..<run { ds[s] = r * (gs[s] * w - meanD - (xs[s] - m) * r * meanDX) }
                    }
                }
                dx = d
            }
            // Parameter gradients: sums over every element of each channel (in double, in order).
            var dw: Tensor?
            var db: Tensor?
            let wantW = weight != nil && needs[1]
            let wantB = bias != nil && needs[weight != nil ? 2 : 1]
            if wantW || wantB {
                let channels = layout.groupsPerSample * perGroup
                var sw = [Double](repeating: 0, count: channels)
                var sb = [Double](repeating: 0, count: channels)
                for grp in 0..<groups {
                    let start = grp * size
                    let m = mean[grp]
                    let r = rstd[grp]
                    let c0 = layout.firstChannel(grp)
                    for k in 0..<perGroup {
                        let gs = pg + start + k * run
                        let xs = px + start + k * run
                        var a: Float = 0
                        var b: Float = 0
                        for s in 0..<run {
                            a += gs[s]
                            b += gs[s] * (xs[s] - m) * r
                        }
                        sw[c0 + k] += Double(b)
                        sb[c0 + k] += Double(a)
                    }
                }
                if wantW { dw = Tensor(sw.map(Float.init), shape: weight!.shape) }
                if wantB { db = Tensor(sb.map(Float.init), shape: bias!.shape) }
            }
            var result: [Tensor?] = [dx]
            if weight != nil { result.append(dw) }
            if bias != nil { result.append(db) }
            return result
        }
    }

    /// Softmax over the last dimension.
    public func softmax() -> Tensor {
        let d = shape[rank - 1]
        let rows = count / max(d, 1)
        let x = self
        let out = Tensor(uninitialized: shape)
        let px = x.data
        let po = out.data
        parallelFor(rows, costPerItem: d * 4) { r in softmaxRow(px + r * d, po + r * d, d) }
        let outStorage = out.storage  // the output's memory, not the tensor that owns this closure
        return out.recording("softmax", [x]) { g, _ in
            let po = outStorage.base
            let dx = Tensor(uninitialized: x.shape)
            let pg = g.data
            let pd = dx.data
            parallelFor(rows, costPerItem: d * 3) { r in
                let y = po + r * d
                let gr = pg + r * d
                let o = pd + r * d
                var dot: Float = 0
                for j in 0..<d { dot += gr[j] * y[j] }
                for j in 0..<d { o[j] = y[j] * (gr[j] - dot) }
            }
            return [dx]
        }
    }
}

/// How normalisation groups map onto memory and affine parameters.
struct NormLayout {
    let groups, groupsPerSample, channelsPerGroup, run: Int
    var size: Int { channelsPerGroup * run }
    /// The affine parameter index of the first run of group g.
    @inline(__always) func firstChannel(_ g: Int) -> Int { (g % groupsPerSample) * channelsPerGroup }
}

/// Mean and 1/√(variance + eps) of n values, in two passes (accurate for large offsets), vectorised in C.
@inline(__always)
func moments(_ x: UnsafePointer<Float>, _ n: Int, _ eps: Float) -> (Float, Float) {
    var mean: Float = 0
    var rstd: Float = 0
    gk_moments(x, n, eps, &mean, &rstd)
    return (mean, rstd)
}

/// out = softmax(x) over n values (in place when out == x); returns log Σ exp(x), which lets
/// backward passes recompute the softmax.
@discardableResult @inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    let (logSum, inverse) = unnormalizedSoftmaxRow(x, out, n)
    for j in 0..<n { out[j] *= inverse }
    return logSum
}

/// out = exp(x − max x); returns log Σ exp(x) and 1 / Σ exp(x − max x). A fully masked row
/// (all −∞) gives zeros rather than NaN; a row of NaN stays NaN (one rule with attention's rows:
/// `gk_softmax_rows`).
@inline(__always)
func unnormalizedSoftmaxRow(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) -> (Float, Float) {
    if UnsafePointer(out) != x { out.update(from: x, count: n) }
    var logSum: Float = 0
    var inverse: Float = 0
    VectorMath.softmaxRows(out, rows: 1, n: n, ld: n, logSumExp: &logSum, inverse: &inverse)
    return (logSum, inverse)
}
