/// Integer ids (token ids, timesteps) with a shape.
public struct IndexTensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Int]

    public init(_ values: [Int], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) ids for shape \(shape)")
        self.values = values
        self.shape = shape
    }
}

extension Tensor {
    /// Rows of this [V, D] table for each id: [..., D]. The gradient is non-zero only in the rows
    /// used, and only those rows are written.
    public func embedding(_ ids: IndexTensor) -> Tensor {
        precondition(rank == 2, "embedding: the table must be [V, D], got \(shape)")
        let (vocabulary, d) = (shape[0], shape[1])
        precondition(ids.values.allSatisfy { $0 >= 0 && $0 < vocabulary }, "embedding: an id is outside 0..<\(vocabulary)")
        let out = Tensor(uninitialized: ids.shape + [d])
        let table = data, po = out.data
        for (i, id) in ids.values.enumerated() { (po + i * d).update(from: table + id * d, count: d) }
        let x = self
        return out.recording("embedding", [x]) { g, _ in
            let grad = Tensor(zeros: x.shape)
            let pg = g.data, pd = grad.data
            for (i, id) in ids.values.enumerated() {
                let row = pd + id * d, src = pg + i * d
                for j in 0..<d { row[j] += src[j] }
            }
            return [grad]
        }
    }
}
