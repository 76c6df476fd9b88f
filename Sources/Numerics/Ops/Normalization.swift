import Foundation

/// Layer norm, group norm and softmax, with the standard closed-form backward passes
/// (see llm.c's layernorm_backward): dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)).
extension Tensor {
    /// Normalises over the last dimension, then scales and shifts per feature (`torch.nn.LayerNorm`).
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        let d = shape[rank - 1], rows = count / max(d, 1)
        precondition(weight.map { $0.count == d } ?? true && bias.map { $0.count == d } ?? true,
                     "layerNorm: parameters do not match \(d) features")
        return normalize(groups: rows, groupSize: d, channelOf: { $0 % d }, channels: d,
                         weight: weight, bias: bias, eps: eps, name: "layer_norm")
    }

    /// Normalises each of `groups` channel groups of an [N, C, ...] tensor, then scales and shifts
    /// per channel (`torch.nn.GroupNorm`).
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        let n = shape[0], c = shape[1], spatial = count / max(n * c, 1)
        precondition(c % groups == 0, "groupNorm: \(c) channels do not split into \(groups) groups")
        return normalize(groups: n * groups, groupSize: (c / groups) * spatial, channelOf: { ($0 / spatial) % c },
                         channels: c, weight: weight, bias: bias, eps: eps, name: "group_norm")
    }

    /// The shared kernel: `groups` contiguous runs of `groupSize` values, each normalised on its own;
    /// `channelOf(i)` gives the affine parameter index of flat element i.
    private func normalize(groups: Int, groupSize: Int, channelOf: @escaping (Int) -> Int, channels: Int,
                           weight: Tensor?, bias: Tensor?, eps: Float, name: String) -> Tensor {
        let x = self
        let out = Tensor(uninitialized: shape)
        var mean = [Float](repeating: 0, count: groups), rstd = [Float](repeating: 0, count: groups)
        let px = x.data, po = out.data, pw = weight?.data, pb = bias?.data
        mean.withUnsafeMutableBufferPointer { meanBuffer in
            rstd.withUnsafeMutableBufferPointer { rstdBuffer in
                let pm = meanBuffer.baseAddress!, pr = rstdBuffer.baseAddress!
                parallelFor(groups, costPerItem: groupSize * 4) { g in
                    let start = g * groupSize
                    var sum: Double = 0
                    for i in start..<(start + groupSize) { sum += Double(px[i]) }
                    let mu = sum / Double(groupSize)
                    var sq: Double = 0
                    for i in start..<(start + groupSize) { let d = Double(px[i]) - mu; sq += d * d }
                    let r = Float(1 / (sq / Double(groupSize) + Double(eps)).squareRoot())
                    pm[g] = Float(mu)
                    pr[g] = r
                    let m = Float(mu)
                    for i in start..<(start + groupSize) {
                        var y = (px[i] - m) * r
                        if let pw { y *= pw[channelOf(i)] }
                        if let pb { y += pb[channelOf(i)] }
                        po[i] = y
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
                parallelFor(groups, costPerItem: groupSize * 6) { grp in
                    let start = grp * groupSize, m = mean[grp], r = rstd[grp]
                    var sumD: Double = 0, sumDX: Double = 0
                    for i in start..<(start + groupSize) {
                        let dxhat = pg[i] * (pw?[channelOf(i)] ?? 1)
                        sumD += Double(dxhat)
                        sumDX += Double(dxhat * (px[i] - m) * r)
                    }
                    let meanD = Float(sumD / Double(groupSize)), meanDX = Float(sumDX / Double(groupSize))
                    for i in start..<(start + groupSize) {
                        let dxhat = pg[i] * (pw?[channelOf(i)] ?? 1)
                        pd[i] = r * (dxhat - meanD - (px[i] - m) * r * meanDX)
                    }
                }
                dx = d
            }
            // Parameter gradients: sums over every element of each channel (in double, in order).
            var dw: Tensor?, db: Tensor?
            let wantW = weight != nil && needs[1], wantB = bias != nil && needs[weight != nil ? 2 : 1]
            if wantW || wantB {
                var sw = [Double](repeating: 0, count: channels), sb = [Double](repeating: 0, count: channels)
                for grp in 0..<groups {
                    let start = grp * groupSize, m = mean[grp], r = rstd[grp]
                    for i in start..<(start + groupSize) {
                        let c = channelOf(i)
                        sw[c] += Double(pg[i] * (px[i] - m) * r)
                        sb[c] += Double(pg[i])
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
        let d = shape[rank - 1], rows = count / max(d, 1)
        let x = self
        let out = Tensor(uninitialized: shape)
        let px = x.data, po = out.data
        parallelFor(rows, costPerItem: d * 4) { r in softmaxRow(px + r * d, po + r * d, d) }
        let outStorage = out.storage  // the output's memory, not the tensor that owns this closure
        return out.recording("softmax", [x]) { g, _ in
            let po = outStorage.base
            let dx = Tensor(uninitialized: x.shape)
            let pg = g.data, pd = dx.data
            parallelFor(rows, costPerItem: d * 3) { r in
                let y = po + r * d, gr = pg + r * d, o = pd + r * d
                var dot: Float = 0
                for j in 0..<d { dot += gr[j] * y[j] }
                for j in 0..<d { o[j] = y[j] * (gr[j] - dot) }
            }
            return [dx]
        }
    }
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
/// (all −∞) gives zeros rather than NaN.
@inline(__always)
func unnormalizedSoftmaxRow(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) -> (Float, Float) {
    let maximum = VectorMath.maximum(x, n)
    if maximum == -.infinity {
        for j in 0..<n { out[j] = 0 }
        return (-.infinity, 0)
    }
    if UnsafePointer(out) != x { out.update(from: x, count: n) }
    let sum = VectorMath.expShifted(out, n, shift: maximum)
    return (maximum + logf(sum), 1 / sum)
}
