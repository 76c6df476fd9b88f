import CKernels

/// Float32 memory shared by tensors and views. Owned memory is freed with the last reference;
/// borrowed memory (a memory-mapped file) is kept alive through `owner`.
public final class Storage: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int
    private let owner: AnyObject?
    /// Where owned memory came from and goes back to (nil for borrowed memory).
    private let blocks: LargeBlocks?

    /// glibc returns freed blocks over its thresholds to the system, and the kernel then zero-fills
    /// fresh pages for the next step's tensors (7% of a training step). Raising the thresholds to
    /// their maximum keeps that memory in the process for reuse; blocks above the highest threshold
    /// (32 MiB) are kept by `LargeBlocks`.
    private static let allocatorTuned = gk_keep_freed_memory() == 1

    /// Zero-filled memory for `count` floats.
    public convenience init(count: Int) { self.init(count: count, blocks: .shared) }

    /// Zero-filled memory for `count` floats, from `blocks`.
    convenience init(count: Int, blocks: LargeBlocks) {
        self.init(uninitialized: count, blocks: blocks)
        base.initialize(repeating: 0, count: max(count, 1))
    }

    /// Uninitialised memory: for outputs that the kernel writes completely.
    convenience init(uninitialized count: Int) { self.init(uninitialized: count, blocks: .shared) }

    /// Uninitialised memory from `blocks`, which gets it back when this storage goes.
    init(uninitialized count: Int, blocks: LargeBlocks) {
        _ = Self.allocatorTuned
        self.count = count
        base = blocks.allocate(count)
        #if DEBUG
            // Tests see any read of memory that a kernel was meant to write first.
            base.update(repeating: .nan, count: count)
        #endif
        self.blocks = blocks
        owner = nil
    }

    /// Memory that belongs to `owner` (which must keep it valid while this storage lives).
    public init(borrowing base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.owner = owner
        blocks = nil
    }

    deinit {
        blocks?.free(base, count: count)
    }
}
