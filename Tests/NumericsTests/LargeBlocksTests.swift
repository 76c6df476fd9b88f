import Testing

@testable import Numerics

/// The cache of large blocks, on an instance of its own with a small threshold (the shared one is
/// used by every test's tensors at once).
@Suite struct LargeBlocksTests {
    @Test func aFreedBlockServesTheNextRequestOfItsSize() {
        let cache = LargeBlocks(threshold: 1000, limit: 1 << 20)
        let block = cache.allocate(4000)
        cache.free(block, count: 4000)
        #expect(cache.bytesKept == 16000)
        #expect(cache.allocate(4000) == block)
        #expect(cache.bytesKept == 0)
        cache.free(block, count: 4000)
    }

    @Test func aRequestOfAnotherSizeReleasesWhatIsKept() {
        let cache = LargeBlocks(threshold: 1000, limit: 1 << 20)
        let a = cache.allocate(4000)
        let b = cache.allocate(5000)
        cache.free(a, count: 4000)
        cache.free(b, count: 5000)
        #expect(cache.bytesKept == 36000)
        let c = cache.allocate(6000)
        #expect(cache.bytesKept == 0)
        cache.free(c, count: 6000)
    }

    @Test func smallBlocksAndBlocksOverTheLimitAreNotKept() {
        let cache = LargeBlocks(threshold: 1000, limit: 20000)
        let small = cache.allocate(999)
        cache.free(small, count: 999)
        #expect(cache.bytesKept == 0)
        let a = cache.allocate(4000)
        let b = cache.allocate(4000)
        cache.free(a, count: 4000)
        cache.free(b, count: 4000)  // 32000 bytes would pass the limit
        #expect(cache.bytesKept == 16000)
    }

    @Test func zeroedStorageIsZeroWhenItsBlockIsReused() {
        let cache = LargeBlocks(threshold: 1000, limit: 1 << 20)
        var dirtyBase: UnsafeMutablePointer<Float>?
        do {
            let dirty = Storage(uninitialized: 4000, blocks: cache)
            dirty.base.update(repeating: 7, count: 4000)
            dirtyBase = dirty.base
        }
        #expect(cache.bytesKept == 16000)
        let storage = Storage(count: 4000, blocks: cache)
        #expect(storage.base == dirtyBase)
        #expect(UnsafeBufferPointer(start: storage.base, count: 4000).allSatisfy { $0 == 0 })
    }
}
