import CKernels

/// 2-D convolution (NCHW, any kernel size, stride and padding) as im2col + sgemm, in tiles of
/// output rows. The column matrix is rebuilt in backward instead of being kept, trading a little
/// compute for memory.
extension Tensor {
    /// `columnElements` overrides the tile size (tests use it to force many tiles).
    public func conv2d(
        _ weight: Tensor, _ bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
        columnElements: Int? = nil
    ) -> Tensor {
        precondition(
            rank == 4 && weight.rank == 4, "conv2d: expects NCHW input and OIHW weight, got \(shape), \(weight.shape)")
        let (n, cin, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (cout, wcin, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        precondition(wcin == cin, "conv2d: input has \(cin) channels, weight expects \(wcin)")
        let geometry = ConvGeometry(
            channels: cin, height: h, width: w, kernelH: kh, kernelW: kw, stride: stride, padding: padding)
        let (ho, wo) = (geometry.outH, geometry.outW)
        precondition(ho > 0 && wo > 0, "conv2d: a \(kh)x\(kw) kernel does not fit \(h)x\(w) with padding \(padding)")
        let x = self
        let k = cin * kh * kw
        let spatial = ho * wo
        // Output rows per tile: the tile's column matrix stays within `columnElements`, but the
        // products keep at least `minimumColumns` columns, below which sgemm loses efficiency.
        let cacheRows = (columnElements ?? ConvolutionTuning.columnElements) / max(k * wo, 1)
        let productRows = columnElements == nil ? (ConvolutionTuning.minimumColumns + wo - 1) / wo : 1
        let tileRows = max(1, min(ho, max(cacheRows, productRows)))
        let tiles = Swift.stride(from: 0, to: ho, by: tileRows).map { $0..<min(ho, $0 + tileRows) }
        let out = Tensor(uninitialized: [n, cout, ho, wo])
        let column = geometry.isIdentity ? nil : UnsafeMutablePointer<Float>.allocate(capacity: k * tileRows * wo)
        defer { column?.deallocate() }
        for i in 0..<n {
            let xi = x.data + i * cin * h * w
            let oi = out.data + i * cout * spatial
            if geometry.isIdentity {
                BLAS.gemm(m: cout, n: spatial, k: k, a: weight.data, lda: k, b: xi, ldb: spatial, c: oi, ldc: spatial)
                continue
            }
            for rows in tiles {
                let columns = rows.count * wo
                geometry.im2col(xi, column!, rows: rows)
                BLAS.gemm(
                    m: cout, n: columns, k: k, a: weight.data, lda: k, b: column!, ldb: columns,
                    c: oi + rows.lowerBound * wo, ldc: spatial)
            }
        }
        if let bias {
            let pb = bias.data
            let po = out.data
            parallelFor(n * cout, costPerItem: spatial) { plane in
                let value = pb[plane % cout]
                let o = po + plane * spatial
                for j in 0..<spatial { o[j] += value }
            }
        }
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return out.recording("conv2d", inputs) { g, needs in
            // A 1x1 convolution's dX is written whole by its products; col2im adds into zeros.
            let dx = needs[0] ? (geometry.isIdentity ? Tensor(uninitialized: x.shape) : Tensor(zeros: x.shape)) : nil
            // dW is written by its first product (β = 0) and summed into by the rest: no zero-fill.
            let dw = needs[1] ? (n > 0 ? Tensor(uninitialized: weight.shape) : Tensor(zeros: weight.shape)) : nil
            var dwBeta: Float = 0
            let column = UnsafeMutablePointer<Float>.allocate(capacity: k * tileRows * wo)
            defer { column.deallocate() }
            for i in 0..<n {
                let gi = g.data + i * cout * spatial
                let xi = x.data + i * cin * h * w
                if geometry.isIdentity {
                    // dW += dY · xᵀ; dX = Wᵀ · dY
                    if let dw {
                        BLAS.gemm(
                            transB: true, m: cout, n: k, k: spatial, a: gi, lda: spatial, b: xi, ldb: spatial,
                            beta: dwBeta, c: dw.data, ldc: k)
                        dwBeta = 1
                    }
                    if let dx {
                        BLAS.gemm(
                            transA: true, m: k, n: spatial, k: cout, a: weight.data, lda: k, b: gi, ldb: spatial,
                            c: dx.data + i * cin * h * w, ldc: spatial)
                    }
                    continue
                }
                for rows in tiles {
                    let columns = rows.count * wo
                    let gt = gi + rows.lowerBound * wo
                    if let dw {
                        // dW += dY · colᵀ, tile by tile
                        geometry.im2col(xi, column, rows: rows)
                        BLAS.gemm(
                            transB: true, m: cout, n: k, k: columns, a: gt, lda: spatial, b: column, ldb: columns,
                            beta: dwBeta, c: dw.data, ldc: k)
                        dwBeta = 1
                    }
                    if let dx {
                        // dX += col2im(Wᵀ · dY)
                        BLAS.gemm(
                            transA: true, m: k, n: columns, k: cout, a: weight.data, lda: k, b: gt, ldb: spatial,
                            c: column, ldc: columns)
                        geometry.col2im(column, dx.data + i * cin * h * w, rows: rows)
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

public enum ConvolutionTuning {
    /// Column-matrix elements per tile (16 MiB). Large tiles give sgemm wide products: at SD-1.5's
    /// 320 channels x 64x64, 2 MiB tiles ran at 69% of the sgemm peak and 16 MiB ones at 82–84%
    /// (`gradti bench engine --conv-columns`); small models' whole column matrix fits either way.
    nonisolated(unsafe) public static var columnElements = 1 << 22
    nonisolated(unsafe) public static var minimumColumns = 256
}

/// The index arithmetic of one convolution, shared by im2col and its adjoint col2im.
struct ConvGeometry {
    let channels, height, width, kernelH, kernelW, stride, padding: Int
    var outH: Int { (height + 2 * padding - kernelH) / stride + 1 }
    var outW: Int { (width + 2 * padding - kernelW) / stride + 1 }
    /// A 1x1 convolution with stride 1 and no padding reads the input as its own column matrix.
    var isIdentity: Bool { kernelH == 1 && kernelW == 1 && stride == 1 && padding == 0 }

    /// The output columns ox whose input column ox·s + kx − p falls inside the image.
    @inline(__always)
    func validColumns(_ kx: Int) -> Range<Int> {
        let first = max(0, (padding - kx + stride - 1) / stride)
        let last = min(outW, (width + padding - kx + stride - 1) / stride)
        return first..<max(first, last)
    }

    /// column[(c, ky, kx), (oy, ox)] = x[c, oy·s + ky − p, ox·s + kx − p] (0 outside), for the
    /// output rows `rows` (the column matrix has rows.count · outW columns).
    func im2col(_ x: UnsafePointer<Float>, _ column: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        let ow = outW
        let columns = rows.count * ow
        parallelFor(channels * kernelH * kernelW, costPerItem: columns) { row in
            let c = row / (kernelH * kernelW)
            let ky = (row / kernelW) % kernelH
            let kx = row % kernelW
            let dst = column + row * columns
            let src = x + c * height * width
            if stride == 1 {
                // Rows are short (16 to 64 values): a vectorised C loop, no memset or memcpy calls.
                gk_im2col_row(src, dst, height, width, ow, ky, kx, padding, rows.lowerBound, rows.count)
                return
            }
            let valid = validColumns(kx)
            for oy in rows {
                let iy = oy * stride + ky - padding
                let d = dst + (oy - rows.lowerBound) * ow
                guard iy >= 0 && iy < height, !valid.isEmpty else {
                    d.update(repeating: 0, count: ow)
                    continue
                }
                d.update(repeating: 0, count: valid.lowerBound)
                (d + valid.upperBound).update(repeating: 0, count: ow - valid.upperBound)
                let s = src + iy * width + valid.lowerBound * stride + kx - padding
                for (i, ox) in valid.enumerated() { d[ox] = s[i * stride] }
            }
        }
    }

    /// The adjoint of im2col for the output rows `rows`: adds each column entry to the input
    /// position it came from. Parallel over channels, so no two threads write the same element.
    func col2im(_ column: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        let ow = outW
        let columns = rows.count * ow
        parallelFor(channels, costPerItem: kernelH * kernelW * columns) { c in
            let dst = x + c * height * width
            for ky in 0..<kernelH {
                for kx in 0..<kernelW {
                    let src = column + ((c * kernelH + ky) * kernelW + kx) * columns
                    let valid = validColumns(kx)
                    for oy in rows {
                        let iy = oy * stride + ky - padding
                        guard iy >= 0 && iy < height else { continue }
                        let d = dst + iy * width + kx - padding
                        let s = src + (oy - rows.lowerBound) * ow
                        if stride == 1 {
                            for ox in valid { d[ox] += s[ox] }  // vectorises
                        } else {
                            for ox in valid { d[ox * stride] += s[ox] }
                        }
                    }
                }
            }
        }
    }
}
