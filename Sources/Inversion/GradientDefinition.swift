/// Which conditioning-gradient norm g(t) measures. Both come from the one backward pass of a
/// training step, so every step records both; the training loss is textual inversion's MSE either way.
public enum GradientDefinition: String, Codable, CaseIterable, Sendable {
    /// Eq. 4 of the paper: ‖∇_c ‖ε_θ(x_t, c) − ε‖‖, the gradient of the *unsquared* error norm.
    case norm
    /// ‖∇_c mean((ε_θ(x_t, c) − ε)²)‖, the gradient of the MSE loss. It is N / (2‖e‖) times smaller per
    /// sample than `norm` (N elements in the error e), so it leans towards the small t where ‖e‖ is largest.
    /// What gradti measured before `norm` existed: files that name no definition are read as `mse`.
    case mse
    /// ‖∂ε_θ(x_t, c)/∂c‖_F, the Jacobian of the prediction (the paper's motivation for g), estimated
    /// with K random probes v ~ N(0, I): E‖Jᵀv‖² = ‖J‖²_F, one extra backward pass per probe.
    case jacobian

    public static let `default` = GradientDefinition.norm

    /// Whether a training step's own backward pass measures it (the Jacobian needs probes of its own).
    public var comesWithTheLoss: Bool { self != .jacobian }
}

/// One sample's conditioning-gradient norms under each definition.
public struct GradientNorms: Sendable, Equatable {
    public var norm: Double
    public var mse: Double
    /// The Jacobian's estimated norm, when probes measured it.
    public var jacobian: Double?

    public init(norm: Double, mse: Double, jacobian: Double? = nil) {
        self.norm = norm
        self.mse = mse
        self.jacobian = jacobian
    }

    /// From ‖∇_c mse‖ and the error's squared norm over its `count` elements:
    /// ∇‖e‖ = ∇(N · mse)^½ = N / (2‖e‖) · ∇mse.
    public init(mseGradient: Double, errorSquares: Double, count: Int) {
        mse = mseGradient
        norm = errorSquares > 0 ? mseGradient * Double(count) / (2 * errorSquares.squareRoot()) : 0
    }

    public func value(_ definition: GradientDefinition) -> Double {
        switch definition {
        case .norm: norm
        case .mse: mse
        case .jacobian: jacobian ?? .nan
        }
    }
}
