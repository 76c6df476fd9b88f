import Foundation

/// Keeps freed large blocks for the next allocation of the same size.
///
/// glibc maps every block over 32 MiB (its highest mmap threshold) afresh and unmaps it on free, so
/// each such tensor page-faults on every 4 KiB of its first touch: 33 ms for the 59 MB weight gradient
/// of a 1280-channel 3x3 convolution, a third of that convolution's backward. A training or inversion
/// step allocates the same shapes every time, so an exact-size match serves nearly every request.
///
/// A request of 32 MiB or more that finds no block of its size first releases every kept block, so kept
/// blocks of sizes no longer asked for do not stay; and the cache never keeps more than `limit` bytes.
/// Kept blocks count in the process's memory until then.
final class LargeBlocks: @unchecked Sendable {
    /// The cache of every `Storage`: blocks of 32 MiB and more, at most 512 MiB kept.
    static let shared = LargeBlocks(threshold: 8 << 20, limit: 512 << 20)

    /// Blocks of at least this many floats are kept.
    let threshold: Int
    /// The most memory kept at once (bytes).
    let limit: Int

    private let lock = NSLock()
    private var kept: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var keptBytes = 0

    init(threshold: Int, limit: Int) {
        self.threshold = threshold
        self.limit = limit
    }

    deinit { for block in takeAll() { block.deallocate() } }

    /// Memory for `count` floats (uninitialised): a kept block of that size, or a fresh one.
    func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        guard count >= threshold else { return .allocate(capacity: max(count, 1)) }
        let (reused, released) = lock.withLock { () -> (UnsafeMutablePointer<Float>?, [UnsafeMutablePointer<Float>]) in
            if let block = kept[count]?.popLast() {
                keptBytes -= count * MemoryLayout<Float>.size
                return (block, [])
            }
            return (nil, takeAll())
        }
        // Unmapping happens outside the lock, so other threads' frees do not wait on it.
        for block in released { block.deallocate() }
        return reused ?? .allocate(capacity: count)
    }

    /// Gives back a block from `allocate(count)`.
    func free(_ block: UnsafeMutablePointer<Float>, count: Int) {
        let bytes = count * MemoryLayout<Float>.size
        let keep =
            count >= threshold
            && lock.withLock {
                guard keptBytes + bytes <= limit else { return false }
                kept[count, default: []].append(block)
                keptBytes += bytes
                return true
            }
        if !keep { block.deallocate() }
    }

    /// The bytes kept now.
    var bytesKept: Int { lock.withLock { keptBytes } }

    /// Empties the cache and hands its blocks to the caller to free (with `lock` held, or from deinit).
    private func takeAll() -> [UnsafeMutablePointer<Float>] {
        let blocks = kept.values.flatMap { $0 }
        kept = [:]
        keptBytes = 0
        return blocks
    }
}
