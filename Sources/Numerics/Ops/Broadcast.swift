/// Broadcasting as NumPy and PyTorch do it: shapes are aligned at their last dimension and a
/// dimension of 1 stretches to match the other.
struct Broadcast {
    /// The output shape, or nil when the shapes do not broadcast.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        var out: [Int] = []
        for (x, y) in zip(pa, pb) {
            guard x == y || x == 1 || y == 1 else { return nil }
            out.append(x == 1 ? y : x)
        }
        return out
    }

    /// A plan for walking the output in rows of the (merged) last dimension, with each operand's
    /// element strides (0 where it is broadcast).
    struct Plan {
        var dims: [Int]  // merged output dimensions
        var strides: [[Int]]  // per operand, per merged dimension
        var rowLength: Int { dims.last ?? 1 }
        var rows: Int { dims.dropLast().reduce(1, *) }

        init(output: [Int], operands: [[Int]]) {
            let rank = output.count
            let padded = operands.map { [Int](repeating: 1, count: rank - $0.count) + $0 }
            // Contiguous strides of each operand, zeroed where it broadcasts.
            var raw: [[Int]] = padded.map { shape in
                var strides = [Int](repeating: 0, count: rank)
                var step = 1
                for i in stride(from: rank - 1, through: 0, by: -1) {
                    strides[i] = shape[i] == 1 && output[i] != 1 ? 0 : step
                    step *= shape[i]
                }
                return strides
            }
            // Merge neighbouring dimensions that every operand walks the same way.
            var dims: [Int] = []
            var merged: [[Int]] = Array(repeating: [], count: operands.count)
            for i in 0..<rank where output[i] != 1 || rank == 1 {
                if let last = dims.last,
                    (0..<operands.count).allSatisfy({ op in
                        let previous = merged[op].last!
                        return (previous == 0 && raw[op][i] == 0)
                            || (previous != 0 && previous == raw[op][i] * output[i])
                    })
                {
                    dims[dims.count - 1] = last * output[i]
                    for op in 0..<operands.count { merged[op][merged[op].count - 1] = raw[op][i] }
                } else {
                    dims.append(output[i])
                    for op in 0..<operands.count { merged[op].append(raw[op][i]) }
                }
            }
            if dims.isEmpty {
                dims = [1]
                merged = Array(repeating: [1], count: operands.count)
            }
            raw = merged
            self.dims = dims
            self.strides = raw
        }

        /// The offset of each operand at the start of output row `row`.
        @inline(__always)
        func offsets(row: Int) -> [Int] {
            var rest = row
            var result = [Int](repeating: 0, count: strides.count)
            for d in stride(from: dims.count - 2, through: 0, by: -1) {
                let index = rest % dims[d]
                rest /= dims[d]
                for op in 0..<strides.count { result[op] += index * strides[op][d] }
            }
            return result
        }
    }
}

extension Tensor {
    /// Sums this gradient over the dimensions that were broadcast to reach it from `target`.
    func sum(to target: [Int]) -> Tensor {
        if target == shape { return self }
        let out = Tensor(zeros: target)
        let plan = Broadcast.Plan(output: shape, operands: [shape, target])
        let n = plan.rowLength
        let src = data
        let dst = out.data
        let sSrc = plan.strides[0].last!
        let sDst = plan.strides[1].last!
        for row in 0..<plan.rows {
            let o = plan.offsets(row: row)
            var a = src + o[0]
            var b = dst + o[1]
            if sDst == 0 {
                var total: Float = 0
                for i in 0..<n { total += a[i * sSrc] }
                b[0] += total
            } else {
                for _ in 0..<n {
                    b[0] += a[0]
                    a += sSrc
                    b += sDst
                }
            }
        }
        return out
    }
}
