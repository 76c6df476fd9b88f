import Synchronization

extension Tensor {
    /// How many values are NaN or infinite (0 for a healthy tensor). Weights are checked with it
    /// on load, so a damaged file is refused by name instead of turning every output into NaN.
    public var nonFiniteCount: Int {
        let found = Atomic<Int>(0)
        let values = data
        parallelChunks(count, minimumPerThread: 1 << 20) { range in
            var local = 0
            // An exponent of all ones is NaN or ±∞.
            values.withMemoryRebound(to: UInt32.self, capacity: count) { bits in
                for i in range where bits[i] & 0x7F80_0000 == 0x7F80_0000 { local += 1 }
            }
            if local > 0 { found.add(local, ordering: .relaxed) }
        }
        return found.load(ordering: .relaxed)
    }
}
