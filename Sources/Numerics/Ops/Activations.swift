import Foundation

/// Element-wise activations, each with its exact derivative.
extension Tensor {
    /// Records y = f(x) with dy/dx = df(x), computed from the saved input.
    private func activation(_ name: String, _ f: @escaping (Float) -> Float, _ df: @escaping (Float) -> Float) -> Tensor {
        let x = self
        return map(f).recording(name, [x]) { g, _ in
            let out = Tensor(uninitialized: x.shape)
            let px = x.data, pg = g.data, po = out.data
            parallelChunks(x.count) { range in for i in range { po[i] = pg[i] * df(px[i]) } }
            return [out]
        }
    }

    public func silu() -> Tensor {
        activation("silu", { x in x / (1 + expf(-x)) }, { x in
            let s = 1 / (1 + expf(-x))
            return s * (1 + x * (1 - s))
        })
    }

    public func exp() -> Tensor {
        activation("exp", { x in expf(x) }, { x in expf(x) })
    }

    /// Values limited to lower...upper; the gradient passes only where the value was inside.
    public func clamped(_ lower: Float, _ upper: Float) -> Tensor {
        activation("clamp", { x in min(max(x, lower), upper) }, { x in x >= lower && x <= upper ? 1 : 0 })
    }

    public func sigmoid() -> Tensor {
        activation("sigmoid", { x in 1 / (1 + expf(-x)) }, { x in
            let s = 1 / (1 + expf(-x))
            return s * (1 - s)
        })
    }

    /// GELU, exact (erf) form as `torch.nn.functional.gelu`, or the tanh approximation.
    public func gelu(approximate: Bool = false) -> Tensor {
        approximate ? activation("gelu_tanh", Activation.geluTanh, Activation.geluTanhDerivative)
                    : activation("gelu", Activation.gelu, Activation.geluDerivative)
    }

    /// x · σ(1.702 x), as in OpenAI's CLIP.
    public func quickGelu() -> Tensor {
        activation("quick_gelu", { x in x / (1 + expf(-1.702 * x)) }, { x in
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
        let half = width / 2, rows = count / width
        var outShape = shape
        outShape[rank - 1] = half
        let out = Tensor(uninitialized: outShape)
        let px = x.data, po = out.data
        parallelFor(rows, costPerItem: half * 8) { r in
            let row = px + r * width
            for j in 0..<half { po[r * half + j] = row[j] * Activation.gelu(row[half + j]) }
        }
        return out.recording("geglu", [x]) { g, _ in
            let dx = Tensor(uninitialized: x.shape)
            let pg = g.data, pd = dx.data
            parallelFor(rows, costPerItem: half * 8) { r in
                let row = px + r * width, d = pd + r * width, gr = pg + r * half
                for j in 0..<half {
                    let h = row[j], gate = row[half + j]
                    d[j] = gr[j] * Activation.gelu(gate)
                    d[half + j] = gr[j] * h * Activation.geluDerivative(gate)
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

    @inline(__always) static func gelu(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * invSqrt2)) }
    @inline(__always) static func geluDerivative(_ x: Float) -> Float {
        0.5 * (1 + erff(x * invSqrt2)) + x * invSqrt2Pi * expf(-0.5 * x * x)
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
