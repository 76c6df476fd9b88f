import CKernels

/// Float32 memory shared by tensors and views. Owned memory is freed with the last reference;
/// borrowed memory (a memory-mapped file) is kept alive through `owner`.
public final class Storage: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int
    private let owner: AnyObject?

    /// glibc returns freed blocks over its thresholds to the system, and the kernel then zero-fills
    /// fresh pages for the next step's tensors (7% of a training step). Raising the thresholds to
    /// their maximum keeps that memory in the process for reuse; blocks above the highest threshold
    /// (32 MiB) are kept by `LargeBlocks`.
    private static let allocatorTuned = gk_keep_freed_memory() == 1

    /// Zero-filled memory for `count` floats.
    public init(count: Int) {
        _ = Self.allocatorTuned
        self.count = count
        base = LargeBlocks.shared.allocate(count)
        base.initialize(repeating: 0, count: max(count, 1))
        owner = nil
    }

    /// Uninitialised memory: for outputs that the kernel writes completely.
    init(uninitialized count: Int) {
        _ = Self.allocatorTuned
        self.count = count
        base = LargeBlocks.shared.allocate(count)
        owner = nil
    }

    /// Memory that belongs to `owner` (which must keep it valid while this storage lives).
    public init(borrowing base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.owner = owner
    }

    deinit {
        if owner == nil { LargeBlocks.shared.free(base, count: count) }
    }
}
