/// 2-D convolution (NCHW, any kernel size, stride and padding) as im2col + sgemm. The column
/// matrix is rebuilt in backward instead of being kept, trading a little compute for memory.
extension Tensor {
    public func conv2d(_ weight: Tensor, _ bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
        precondition(rank == 4 && weight.rank == 4, "conv2d: expects NCHW input and OIHW weight, got \(shape), \(weight.shape)")
        let (n, cin, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (cout, wcin, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        precondition(wcin == cin, "conv2d: input has \(cin) channels, weight expects \(wcin)")
        let geometry = ConvGeometry(channels: cin, height: h, width: w, kernelH: kh, kernelW: kw, stride: stride, padding: padding)
        let (ho, wo) = (geometry.outH, geometry.outW)
        precondition(ho > 0 && wo > 0, "conv2d: a \(kh)x\(kw) kernel does not fit \(h)x\(w) with padding \(padding)")
        let x = self
        let k = cin * kh * kw, spatial = ho * wo
        let out = Tensor(uninitialized: [n, cout, ho, wo])
        let column = geometry.isIdentity ? nil : UnsafeMutablePointer<Float>.allocate(capacity: k * spatial)
        defer { column?.deallocate() }
        for i in 0..<n {
            let xi = x.data + i * cin * h * w
            if let column { geometry.im2col(xi, column) }
            BLAS.gemm(m: cout, n: spatial, k: k, a: weight.data, lda: k, b: column ?? xi, ldb: spatial,
                      c: out.data + i * cout * spatial, ldc: spatial)
        }
        if let bias {
            let pb = bias.data, po = out.data
            parallelFor(n * cout, costPerItem: spatial) { plane in
                let value = pb[plane % cout], o = po + plane * spatial
                for j in 0..<spatial { o[j] += value }
            }
        }
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return out.recording("conv2d", inputs) { g, needs in
            let dx = needs[0] ? Tensor(zeros: x.shape) : nil
            let dw = needs[1] ? Tensor(zeros: weight.shape) : nil
            let column = UnsafeMutablePointer<Float>.allocate(capacity: k * spatial)
            defer { column.deallocate() }
            for i in 0..<n {
                let gi = g.data + i * cout * spatial
                if let dw {
                    // dW += dY · colᵀ
                    let xi = x.data + i * cin * h * w
                    if geometry.isIdentity {
                        BLAS.gemm(transB: true, m: cout, n: k, k: spatial, a: gi, lda: spatial, b: xi, ldb: spatial,
                                  beta: 1, c: dw.data, ldc: k)
                    } else {
                        geometry.im2col(xi, column)
                        BLAS.gemm(transB: true, m: cout, n: k, k: spatial, a: gi, lda: spatial, b: column, ldb: spatial,
                                  beta: 1, c: dw.data, ldc: k)
                    }
                }
                if let dx {
                    // dX = col2im(Wᵀ · dY)
                    let dxi = dx.data + i * cin * h * w
                    if geometry.isIdentity {
                        BLAS.gemm(transA: true, m: k, n: spatial, k: cout, a: weight.data, lda: k, b: gi, ldb: spatial,
                                  c: dxi, ldc: spatial)
                    } else {
                        BLAS.gemm(transA: true, m: k, n: spatial, k: cout, a: weight.data, lda: k, b: gi, ldb: spatial,
                                  c: column, ldc: spatial)
                        geometry.col2im(column, dxi)
                    }
                }
            }
            var result: [Tensor?] = [dx, dw]
            if let bias {
                result.append(needs[2] ? g.sum(to: [1, cout, 1, 1]).reshaped(bias.shape).detached() : nil)
            }
            return result
        }
    }
}

/// The index arithmetic of one convolution, shared by im2col and its adjoint col2im.
struct ConvGeometry {
    let channels, height, width, kernelH, kernelW, stride, padding: Int
    var outH: Int { (height + 2 * padding - kernelH) / stride + 1 }
    var outW: Int { (width + 2 * padding - kernelW) / stride + 1 }
    /// A 1x1 convolution with stride 1 and no padding reads the input as its own column matrix.
    var isIdentity: Bool { kernelH == 1 && kernelW == 1 && stride == 1 && padding == 0 }

    /// column[(c, ky, kx), (oy, ox)] = x[c, oy·s + ky − p, ox·s + kx − p] (0 outside).
    func im2col(_ x: UnsafePointer<Float>, _ column: UnsafeMutablePointer<Float>) {
        let (oh, ow) = (outH, outW)
        parallelFor(channels * kernelH * kernelW, costPerItem: oh * ow) { row in
            let c = row / (kernelH * kernelW), ky = (row / kernelW) % kernelH, kx = row % kernelW
            let dst = column + row * oh * ow, src = x + c * height * width
            for oy in 0..<oh {
                let iy = oy * stride + ky - padding
                let d = dst + oy * ow
                guard iy >= 0 && iy < height else {
                    for ox in 0..<ow { d[ox] = 0 }
                    continue
                }
                let s = src + iy * width
                for ox in 0..<ow {
                    let ix = ox * stride + kx - padding
                    d[ox] = ix >= 0 && ix < width ? s[ix] : 0
                }
            }
        }
    }

    /// The adjoint of im2col: adds each column entry back to the input position it came from.
    /// Parallel over channels, so no two threads write the same element.
    func col2im(_ column: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>) {
        let (oh, ow) = (outH, outW)
        parallelFor(channels, costPerItem: kernelH * kernelW * oh * ow) { c in
            let dst = x + c * height * width
            for i in 0..<(height * width) { dst[i] = 0 }
            for ky in 0..<kernelH {
                for kx in 0..<kernelW {
                    let src = column + ((c * kernelH + ky) * kernelW + kx) * oh * ow
                    for oy in 0..<oh {
                        let iy = oy * stride + ky - padding
                        guard iy >= 0 && iy < height else { continue }
                        for ox in 0..<ow {
                            let ix = ox * stride + kx - padding
                            if ix >= 0 && ix < width { dst[iy * width + ix] += src[oy * ow + ox] }
                        }
                    }
                }
            }
        }
    }
}
