import Foundation

/// Reverse-mode differentiation.
///
/// An operation records a `Node` only when one of its inputs needs a gradient, and the node keeps
/// only those inputs. So nothing is computed backward through parts of the graph that lead to no
/// wanted tensor, and frozen weights never get a gradient buffer. A node drops its saved tensors
/// as soon as its backward has run.
final class Node {
    /// The inputs that need gradients, in the order `backward` returns their gradients.
    var inputs: [Tensor]
    /// Given the gradient of the output, the gradients of `inputs` (same order, same shapes).
    var backward: ((Tensor) -> [Tensor])?
    let name: String

    init(_ name: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether operations record nodes (off inside `withoutGradients`, e.g. for sampling). Per thread,
/// so one thread's sampling never switches off another's training.
public enum GradientMode {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Stored as "disabled" so that the default (no value set) means enabled.
    static var enabled: Bool {
        get { pthread_getspecific(key) == nil }
        set { pthread_setspecific(key, newValue ? nil : UnsafeRawPointer(bitPattern: 1)) }
    }
}

/// Runs `body` without recording gradients, like `torch.no_grad()`.
public func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
    let previous = GradientMode.enabled
    GradientMode.enabled = false
    defer { GradientMode.enabled = previous }
    return try body()
}

/// Runs `body` recording gradients (on a thread that may be inside `withoutGradients`).
func withGradients<T>(_ body: () throws -> T) rethrows -> T {
    let previous = GradientMode.enabled
    GradientMode.enabled = true
    defer { GradientMode.enabled = previous }
    return try body()
}

extension Tensor {
    /// Makes `output` differentiable with respect to whichever of `inputs` need gradients.
    /// `backward` receives the output gradient and which inputs need one, and returns a gradient
    /// for each input that needs one (nil for the others; they are never asked for).
    @discardableResult
    func recording(
        _ name: String, _ inputs: [Tensor],
        _ backward: @escaping (_ grad: Tensor, _ needs: [Bool]) -> [Tensor?]
    ) -> Tensor {
        guard GradientMode.enabled else { return self }
        let needs = inputs.map(\.needsGrad)
        guard needs.contains(true) else { return self }
        let wanted = zip(inputs, needs).filter(\.1).map(\.0)
        node = Node(name, inputs: wanted) { grad in
            let all = backward(grad, needs)
            return zip(all, needs).filter(\.1).map { gradient, _ in
                guard let gradient else { preconditionFailure("\(name): no gradient for an input that needs one") }
                return gradient
            }
        }
        return self
    }

    /// Back-propagates from this tensor (a scalar loss unless `gradient` is given), accumulating
    /// into `grad` of every leaf that requires it.
    /// - Parameter retainGraph: keep the recorded graph (and what its nodes saved), so that `backward`
    ///   can run again from this tensor with another gradient (vector-Jacobian products), as
    ///   PyTorch's `retain_graph`; by default the graph is freed as the pass goes.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) {
        // Gradients are plain values: computing them records nothing.
        withoutGradients { backwardPass(gradient, retainGraph: retainGraph) }
    }

    private func backwardPass(_ gradient: Tensor?, retainGraph: Bool) {
        let seed = gradient ?? Tensor(repeating: 1, shape: shape)
        precondition(seed.shape == shape, "backward: gradient shape \(seed.shape) for tensor \(shape)")
        // Topological order by depth-first search over tensors with nodes.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded {
                order.append(tensor)
                continue
            }
            guard visited.insert(ObjectIdentifier(tensor)).inserted else { continue }
            stack.append((tensor, true))
            for input in tensor.node?.inputs ?? [] where !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        for tensor in order.reversed() {
            guard let grad = grads.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
            if let node = tensor.node, let backward = node.backward {
                let inputGrads = backward(grad)
                for (input, g) in zip(node.inputs, inputGrads) {
                    let key = ObjectIdentifier(input)
                    // Out of place: a backward may hand the same buffer to several inputs.
                    grads[key] = grads[key].map { $0 + g } ?? g
                }
                // Free what the node saved: its activations are no longer needed.
                if !retainGraph {
                    node.backward = nil
                    node.inputs = []
                    tensor.node = nil
                }
            }
            if tensor.requiresGrad {
                tensor.grad = tensor.grad.map { $0 + grad } ?? grad.detached()
            }
        }
    }

}
