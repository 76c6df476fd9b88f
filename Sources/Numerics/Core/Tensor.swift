import Foundation

/// A float32 tensor: a shape over contiguous row-major memory, with an optional gradient.
///
/// Tensors are references, as in PyTorch: operations return new tensors and record, when some input
/// needs a gradient, how to send gradients back (`Graph.swift`). Reshapes are views of the same memory.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let storage: Storage
    public let offset: Int
    public let count: Int
    /// A leaf whose gradient is wanted (a parameter being optimised).
    public var requiresGrad: Bool
    /// The accumulated gradient of a leaf with `requiresGrad`, after `backward()`.
    public var grad: Tensor?
    /// How this tensor was computed, when gradients must flow through it.
    var node: Node?

    public init(shape: [Int], storage: Storage, offset: Int = 0, requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.storage = storage
        self.offset = offset
        self.count = shape.reduce(1, *)
        precondition(offset + count <= storage.count, "tensor of shape \(shape) does not fit its storage")
        self.requiresGrad = requiresGrad
    }

    /// Zeros.
    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// Memory the caller fills completely before reading.
    convenience init(uninitialized shape: [Int]) {
        self.init(shape: shape, storage: Storage(uninitialized: shape.reduce(1, *)))
    }

    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
        self.requiresGrad = requiresGrad
    }

    public convenience init(repeating value: Float, shape: [Int]) {
        self.init(uninitialized: shape)
        data.update(repeating: value, count: count)
    }

    public var data: UnsafeMutablePointer<Float> { storage.base + offset }
    public var rank: Int { shape.count }
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }
    public var item: Float { data[0] }

    /// Whether gradients flow through this tensor (it is a wanted leaf or was computed from one).
    public var needsGrad: Bool { requiresGrad || node != nil }

    /// The same values, detached from any graph.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage, offset: offset) }

    /// A copy with its own memory.
    public func copy() -> Tensor {
        let out = Tensor(uninitialized: shape)
        out.data.update(from: data, count: count)
        return out
    }

    /// The size of dimension `axis`; negative axes count from the end.
    public func dim(_ axis: Int) -> Int { shape[axis < 0 ? axis + rank : axis] }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}
