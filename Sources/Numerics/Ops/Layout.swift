/// Reshapes (views), permutations, concatenation and splitting, nearest upsampling.
extension Tensor {
    /// The same memory seen with another shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let unknown = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != unknown }.map(\.element).reduce(1, *)
            target[unknown] = known == 0 ? 0 : count / known
        }
        precondition(target.reduce(1, *) == count, "reshape: \(shape) has \(count) elements, not \(target)")
        let x = self
        return Tensor(shape: target, storage: storage, offset: offset).recording("reshape", [x]) { g, _ in
            [g.reshaped(x.shape)]
        }
    }

    /// A copy with dimensions reordered: `permuted([0, 2, 1])` swaps the last two of three.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permute: \(order) is not a permutation of \(rank) axes")
        let outShape = order.map { shape[$0] }
        let out = Tensor(uninitialized: outShape)
        // Strides of the source, in the order of the output's dimensions.
        var sourceStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { sourceStrides[i] = sourceStrides[i + 1] * shape[i + 1] }
        let walk = order.map { sourceStrides[$0] }
        let inner = outShape.last ?? 1
        let innerStride = walk.last ?? 1
        let rows = count / max(inner, 1)
        let src = data
        let dst = out.data
        parallelFor(rows, costPerItem: inner) { row in
            var rest = row
            var offset = 0
            for d in stride(from: rank - 2, through: 0, by: -1) {
                offset += (rest % outShape[d]) * walk[d]
                rest /= outShape[d]
            }
            let o = dst + row * inner
            for j in 0..<inner { o[j] = src[offset + j * innerStride] }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        let x = self
        return out.recording("permute", [x]) { g, _ in [g.permuted(inverse)] }
    }

    /// Joins tensors along `axis`; all other dimensions must agree.
    public static func concatenate(_ parts: [Tensor], axis: Int) -> Tensor {
        let first = parts[0]
        let axis = axis < 0 ? axis + first.rank : axis
        for part in parts {
            precondition(
                part.rank == first.rank
                    && (0..<first.rank).allSatisfy { $0 == axis || part.shape[$0] == first.shape[$0] },
                "concatenate: shapes \(parts.map(\.shape)) differ off axis \(axis)")
        }
        var outShape = first.shape
        outShape[axis] = parts.map { $0.shape[axis] }.reduce(0, +)
        let out = Tensor(uninitialized: outShape)
        let outer = first.shape[..<axis].reduce(1, *)
        let inner = first.shape[(axis + 1)...].reduce(1, *)
        let outRow = outShape[axis] * inner
        var start = 0
        for part in parts {
            let width = part.shape[axis] * inner
            let src = part.data
            let dst = out.data + start
            parallelFor(outer, costPerItem: width) { o in
                (dst + o * outRow).update(from: src + o * width, count: width)
            }
            start += width
        }
        let sizes = parts.map { $0.shape[axis] }
        return out.recording("concatenate", parts) { g, needs in
            let pieces = g.split(sizes: sizes, axis: axis)
            return zip(pieces, needs).map { $1 ? $0 : nil }
        }
    }

    /// Splits along `axis` into pieces of the given sizes (copies).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let axis = axis < 0 ? axis + rank : axis
        precondition(sizes.reduce(0, +) == shape[axis], "split: sizes \(sizes) do not add up to \(shape[axis])")
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let row = shape[axis] * inner
        var start = 0
        var pieces: [Tensor] = []
        let x = self
        for (index, size) in sizes.enumerated() {
            var pieceShape = shape
            pieceShape[axis] = size
            let piece = Tensor(uninitialized: pieceShape)
            let width = size * inner
            let src = data + start
            let dst = piece.data
            parallelFor(outer, costPerItem: width) { o in (dst + o * width).update(from: src + o * row, count: width) }
            start += width
            // Each piece's gradient goes back into its slot of a zero gradient for the whole.
            pieces.append(
                piece.recording("split", [x]) { g, _ in
                    var parts = sizes.map { size -> Tensor in
                        var s = x.shape
                        s[axis] = size
                        return Tensor(zeros: s)
                    }
                    parts[index] = g
                    return [Tensor.concatenate(parts, axis: axis)]
                })
        }
        return pieces
    }

    /// Splits into `count` equal pieces along `axis` (like `torch.chunk`).
    public func chunked(_ count: Int, axis: Int) -> [Tensor] {
        let axis = axis < 0 ? axis + rank : axis
        precondition(shape[axis] % count == 0, "chunk: \(shape[axis]) does not split into \(count)")
        return split(sizes: Array(repeating: shape[axis] / count, count: count), axis: axis)
    }

    /// Zero padding of an NCHW tensor's spatial sides (diffusers' VAE pads right and bottom by one
    /// before its stride-2 convolutions).
    public func padded(top: Int = 0, bottom: Int = 0, left: Int = 0, right: Int = 0) -> Tensor {
        precondition(rank == 4, "pad: expects NCHW, got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow) = (h + top + bottom, w + left + right)
        let out = Tensor(zeros: [n, c, oh, ow])
        let src = data
        let dst = out.data
        parallelFor(n * c, costPerItem: oh * ow) { plane in
            for y in 0..<h {
                (dst + plane * oh * ow + (y + top) * ow + left).update(from: src + plane * h * w + y * w, count: w)
            }
        }
        let x = self
        return out.recording("pad", [x]) { g, _ in
            let dx = Tensor(uninitialized: x.shape)
            let pg = g.data
            let pd = dx.data
            parallelFor(n * c, costPerItem: h * w) { plane in
                for y in 0..<h {
                    (pd + plane * h * w + y * w).update(from: pg + plane * oh * ow + (y + top) * ow + left, count: w)
                }
            }
            return [dx]
        }
    }

    /// Nearest-neighbour upsampling by 2 of an NCHW tensor (diffusers' `Upsample2D` before its conv).
    public func upsampleNearest2x() -> Tensor {
        precondition(rank == 4, "upsample: expects NCHW, got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let out = Tensor(uninitialized: [n, c, 2 * h, 2 * w])
        let src = data
        let dst = out.data
        parallelFor(n * c, costPerItem: 4 * h * w) { plane in
            let s = src + plane * h * w
            let d = dst + plane * 4 * h * w
            for y in 0..<(2 * h) {
                let row = s + (y / 2) * w
                let o = d + y * 2 * w
                for x in 0..<(2 * w) { o[x] = row[x / 2] }
            }
        }
        let x = self
        return out.recording("upsample_nearest2x", [x]) { g, _ in
            let dx = Tensor(uninitialized: x.shape)
            let pg = g.data
            let pd = dx.data
            parallelFor(n * c, costPerItem: 4 * h * w) { plane in
                let gp = pg + plane * 4 * h * w
                let dp = pd + plane * h * w
                for y in 0..<h {
                    for xx in 0..<w {
                        let top = gp + (2 * y) * 2 * w + 2 * xx
                        let bottom = top + 2 * w
                        dp[y * w + xx] = top[0] + top[1] + bottom[0] + bottom[1]
                    }
                }
            }
            return [dx]
        }
    }
}
