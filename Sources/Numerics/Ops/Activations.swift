import CKernels
import Foundation

/// Element-wise activations, each with its exact derivative.
extension Tensor {
    /// Records y = f(x) with dy/dx = df(x), computed from the saved input.
    private func activation(_ name: String, _ f: @escaping (Float) -> Float, _ df: @escaping (Float) -> Float) -> Tensor
    {
        let x = self
        return map(f).recording(name, [x]) { g, _ in
            let out = Tensor(uninitialized: x.shape)
            let px = x.data
            let pg = g.data
            let po = out.data
            parallelChunks(x.count) { range in for i in range { po[i] = pg[i] * df(px[i]) } }
            return [out]
        }
    }

    /// x·sigmoid(x), vectorised in C (it follows every norm of a UNet or VAE).
    public func silu() -> Tensor {
        let x = self
        let out = Tensor(uninitialized: x.shape)
        let (px, po) = (x.data, out.data)
        parallelChunks(x.count) { range in gk_silu(px + range.lowerBound, po + range.lowerBound, range.count) }
        return out.recording("silu", [x]) { g, _ in
            let dx = Tensor(uninitialized: x.shape)
            let (pg, pd) = (g.data, dx.data)
            parallelChunks(x.count) { range in
                gk_silu_backward(px + range.lowerBound, pg + range.lowerBound, pd + range.lowerBound, range.count)
            }
            return [dx]
        }
    }

    public func exp() -> Tensor {
        activation("exp", { x in expf(x) }, { x in expf(x) })
    }

    /// Values limited to lower...upper; the gradient passes only where the value was inside.
    public func clamped(_ lower: Float, _ upper: Float) -> Tensor {
        activation("clamp", { x in min(max(x, lower), upper) }, { x in x >= lower && x <= upper ? 1 : 0 })
    }

    public func sigmoid() -> Tensor {
        activation(
            "sigmoid", { x in 1 / (1 + expf(-x)) },
            { x in
                let s = 1 / (1 + expf(-x))
                return s * (1 - s)
            })
    }

    /// GELU, exact (erf) form as `torch.nn.functional.gelu`, or the tanh approximation.
    public func gelu(approximate: Bool = false) -> Tensor {
        if approximate { return activation("gelu_tanh", Activation.geluTanh, Activation.geluTanhDerivative) }
        let x = self
        let out = Tensor(uninitialized: shape)
        let px = x.data
        let po = out.data
        parallelChunks(count) { range in Activation.gelu(px + range.lowerBound, po + range.lowerBound, range.count) }
        return out.recording("gelu", [x]) { g, _ in
            let dx = Tensor(uninitialized: x.shape)
            let pg = g.data
            let pd = dx.data
            parallelChunks(x.count) { range in
                Activation.geluDerivative(px + range.lowerBound, pd + range.lowerBound, range.count)
                for i in range { pd[i] *= pg[i] }
            }
            return [dx]
        }
    }

    /// x · σ(1.702 x), as in OpenAI's CLIP.
    public func quickGelu() -> Tensor {
        activation(
            "quick_gelu", { x in x / (1 + expf(-1.702 * x)) },
            { x in
                let s = 1 / (1 + expf(-1.702 * x))
                return s + 1.702 * x * s * (1 - s)
            })
    }

    /// GEGLU on the last dimension: the first half times GELU of the second half, as diffusers'
    /// `GEGLU` (after its projection).
    public func geglu() -> Tensor {
        let x = self
        let width = shape[rank - 1]
        precondition(width % 2 == 0, "geglu: last dimension \(width) is odd")
        let half = width / 2
        let rows = count / width
        var outShape = shape
        outShape[rank - 1] = half
        let out = Tensor(uninitialized: outShape)
        let px = x.data
        let po = out.data
        parallelFor(rows, costPerItem: half * 8) { r in
            let row = px + r * width
            let o = po + r * half
            Activation.gelu(row + half, o, half)
            for j in 0..<half { o[j] *= row[j] }
        }
        return out.recording("geglu", [x]) { g, _ in
            let dx = Tensor(uninitialized: x.shape)
            let pg = g.data
            let pd = dx.data
            parallelFor(rows, costPerItem: half * 8) { r in
                let row = px + r * width
                let d = pd + r * width
                let gr = pg + r * half
                Activation.gelu(row + half, d, half)
                Activation.geluDerivative(row + half, d + half, half)
                for j in 0..<half {
                    d[j] *= gr[j]
                    d[half + j] *= gr[j] * row[j]
                }
            }
            return [dx]
        }
    }
}

enum Activation {
    static let invSqrt2: Float = 0.707_106_77
    static let invSqrt2Pi: Float = 0.398_942_28
    static let sqrt2OverPi: Float = 0.797_884_56

    /// out = 0.5 x (1 + erf(x/√2)) for n values, with the vector erf kernel.
    static func gelu(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { out[i] = x[i] * invSqrt2 }
        VectorMath.erf(out, out, n)
        for i in 0..<n { out[i] = 0.5 * x[i] * (1 + out[i]) }
    }

    /// out = d gelu / dx = 0.5 (1 + erf(x/√2)) + x φ(x) for n values.
    static func geluDerivative(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        let density = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { density.deallocate() }
        for i in 0..<n {
            out[i] = x[i] * invSqrt2
            density[i] = -0.5 * x[i] * x[i]
        }
        VectorMath.erf(out, out, n)
        _ = VectorMath.expShifted(density, n, shift: 0)
        for i in 0..<n { out[i] = 0.5 * (1 + out[i]) + x[i] * invSqrt2Pi * density[i] }
    }
    @inline(__always) static func geluTanh(_ x: Float) -> Float {
        0.5 * x * (1 + tanhf(sqrt2OverPi * (x + 0.044715 * x * x * x)))
    }
    @inline(__always) static func geluTanhDerivative(_ x: Float) -> Float {
        let u = sqrt2OverPi * (x + 0.044715 * x * x * x)
        let t = tanhf(u)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * sqrt2OverPi * (1 + 3 * 0.044715 * x * x)
    }
}
