import Diffusion
import Dispatch
import Foundation
import Numerics

/// Copies of a model, each computing the loss of an equal share of the batch on its own thread, with
/// the gradients averaged into the master's parameters. Each copy gets an equal part of the threads
/// (`Threads.limited`; one each on two cores).
final class DataParallel<Model: ParameterizedModel> {
    let models: [Model]
    /// Per model, its parameters matched by name to the master's, in the master's order.
    let parameters: [[Tensor]]

    /// `build` makes a copy with the weights it is given (the master's values are copied in again
    /// before each step).
    init(master: Model, count: Int, build: (ModelWeights) throws -> Model) throws {
        var models = [master]
        let names = master.parameters.names
        var all = [master.parameters.named.map(\.tensor)]
        for _ in 1..<max(count, 1) {
            let copy = try build(.copy(master.parameters))
            let copies = try names.map { name in
                guard let parameter = copy.parameters[name] else {
                    throw TrainingError("a model copy has no parameter \(name)")
                }
                return parameter.value
            }
            guard copy.parameters.count == names.count else {
                throw TrainingError("a model copy has parameters its master has not")
            }
            for tensor in copies { tensor.requiresGrad = true }
            models.append(copy)
            all.append(copies)
        }
        self.models = models
        self.parameters = all
    }

    /// The mean loss over the batch; the master's parameters receive the gradient of that mean.
    /// `loss(model, range)` computes one share's mean loss.
    func lossAndGradients(batch: Int, _ loss: (Model, Range<Int>) -> Tensor) -> Double {
        let n = min(models.count, batch)
        for copy in parameters.dropFirst().prefix(n - 1) {
            for (target, source) in zip(copy, parameters[0]) {
                target.data.update(from: source.data, count: source.count)
                target.grad = nil
            }
        }
        let shares = (0..<n).map { i in (i * batch / n)..<((i + 1) * batch / n) }
        var losses = [Double](repeating: 0, count: n)
        losses.withUnsafeMutableBufferPointer { values in
            let values = values
            withoutActuallyEscaping(loss) { loss in
                let run = { (i: Int) in
                    let value = loss(self.models[i], shares[i])
                    value.backward()
                    values[i] = Double(value.item)
                }
                let each = max(1, Threads.count / n)
                if n == 1 {
                    run(0)
                } else {
                    DispatchQueue.concurrentPerform(iterations: n) { i in Threads.limited(to: each) { run(i) } }
                }
            }
        }
        // Each share's gradient weighs by its size in the batch mean.
        for (index, master) in parameters[0].enumerated() {
            guard let first = master.grad else { continue }
            let total = first.detached() * (Float(shares[0].count) / Float(batch))
            for i in 1..<n {
                if let g = parameters[i][index].grad { total.data.addScaled(g, Float(shares[i].count) / Float(batch)) }
            }
            master.grad = total
        }
        return zip(losses, shares).map { $0 * Double($1.count) }.reduce(0, +) / Double(batch)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// self[i] += scale · other[i] over other's elements.
    func addScaled(_ other: Tensor, _ scale: Float) {
        let p = other.data
        for i in 0..<other.count { self[i] += scale * p[i] }
    }
}
