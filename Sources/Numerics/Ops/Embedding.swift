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
        precondition(
            ids.values.allSatisfy { $0 >= 0 && $0 < vocabulary }, "embedding: an id is outside 0..<\(vocabulary)")
        let out = Tensor(uninitialized: ids.shape + [d])
        let table = data
        let po = out.data
        for (i, id) in ids.values.enumerated() { (po + i * d).update(from: table + id * d, count: d) }
        let x = self
        return out.recording("embedding", [x]) { g, _ in
            let grad = Tensor(zeros: x.shape)
            let pg = g.data
            let pd = grad.data
            for (i, id) in ids.values.enumerated() {
                let row = pd + id * d
                let src = pg + i * d
                for j in 0..<d { row[j] += src[j] }
            }
            return [grad]
        }
    }
}

extension Tensor {
    /// This [R, D] tensor with the rows at `positions` replaced by the rows of `values` [k, D]
    /// (one position each): how textual inversion puts its learned vectors into a frozen lookup.
    public func replacingRows(_ positions: [Int], with values: Tensor) -> Tensor {
        precondition(
            rank == 2 && values.rank == 2 && values.shape[1] == shape[1] && values.shape[0] == positions.count,
            "replacingRows: \(positions.count) positions for values \(values.shape) into \(shape)")
        precondition(
            positions.allSatisfy { $0 >= 0 && $0 < shape[0] }, "replacingRows: a position is outside 0..<\(shape[0])")
        let d = shape[1]
        let out = copy()
        for (k, row) in positions.enumerated() { (out.data + row * d).update(from: values.data + k * d, count: d) }
        let base = self
        return out.recording("replace_rows", [base, values]) { g, needs in
            var dBase: Tensor?
            var dValues: Tensor?
            if needs[0] {
                let d0 = g.copy()
                for row in positions { (d0.data + row * d).update(repeating: 0, count: d) }
                dBase = d0
            }
            if needs[1] {
                let dv = Tensor(uninitialized: values.shape)
                for (k, row) in positions.enumerated() { (dv.data + k * d).update(from: g.data + row * d, count: d) }
                dValues = dv
            }
            return [dBase, dValues]
        }
    }
}
