/// Broadcasting arithmetic and scalar arithmetic.
extension Tensor {
    /// Applies `f` element-wise over the broadcast of `a` and `b`.
    /// Inlined into each operator, so `f` is too and the loops vectorise.
    @inline(__always)
    static func zipBroadcast(_ a: Tensor, _ b: Tensor, _ name: String, _ f: (Float, Float) -> Float) -> Tensor {
        guard let shape = Broadcast.shape(a.shape, b.shape) else {
            preconditionFailure("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let out = Tensor(uninitialized: shape)
        let pa = a.data
        let pb = b.data
        let po = out.data
        if a.shape == b.shape {
            parallelChunks(out.count) { range in for i in range { po[i] = f(pa[i], pb[i]) } }
            return out
        }
        let plan = Broadcast.Plan(output: shape, operands: [a.shape, b.shape])
        let n = plan.rowLength
        let sa = plan.strides[0].last!
        let sb = plan.strides[1].last!
        parallelFor(plan.rows, costPerItem: n) { row in
            let o = plan.offsets(row: row)
            let x = pa + o[0]
            let y = pb + o[1]
            let z = po + row * n
            for i in 0..<n { z[i] = f(x[i * sa], y[i * sb]) }
        }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, "add", +).recording("add", [a, b]) { g, needs in
            [needs[0] ? g.sum(to: a.shape) : nil, needs[1] ? g.sum(to: b.shape) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, "sub", -).recording("sub", [a, b]) { g, needs in
            [needs[0] ? g.sum(to: a.shape) : nil, needs[1] ? (-g).sum(to: b.shape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, "mul", *).recording("mul", [a, b]) { g, needs in
            [
                needs[0] ? zipBroadcast(g, b, "mul", *).sum(to: a.shape) : nil,
                needs[1] ? zipBroadcast(g, a, "mul", *).sum(to: b.shape) : nil
            ]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, "div", /).recording("div", [a, b]) { g, needs in
            [
                needs[0] ? zipBroadcast(g, b, "div", /).sum(to: a.shape) : nil,
                needs[1]
                    ? zipBroadcast(zipBroadcast(g, a, "mul", *), b, "div", { x, y in -x / (y * y) }).sum(to: b.shape)
                    : nil
            ]
        }
    }

    /// Applies `f` to every element into a new tensor (no gradient recorded).
    func map(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitialized: shape)
        let src = data
        let dst = out.data
        withoutActuallyEscaping(f) { f in
            parallelChunks(count) { range in for i in range { dst[i] = f(src[i]) } }
        }
        return out
    }

    public static prefix func - (a: Tensor) -> Tensor {
        a.map { -$0 }.recording("neg", [a]) { g, _ in [-g] }
    }

    public static func * (a: Tensor, s: Float) -> Tensor {
        a.map { $0 * s }.recording("scale", [a]) { g, _ in [g * s] }
    }

    public static func * (s: Float, a: Tensor) -> Tensor { a * s }

    public static func + (a: Tensor, s: Float) -> Tensor {
        a.map { $0 + s }.recording("shift", [a]) { g, _ in [g] }
    }

    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
}
