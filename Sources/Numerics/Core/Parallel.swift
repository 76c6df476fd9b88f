import Dispatch
import Foundation

/// The engine's thread count for products and parallel loops: all cores (at most 8), or
/// `GRADTI_THREADS` when set; fewer on a thread inside `Threads.limited` (one in `Threads.serial`).
public enum Threads {
    nonisolated(unsafe) public static var configured: Int = {
        if let text = ProcessInfo.processInfo.environment["GRADTI_THREADS"], let n = Int(text), n >= 1 {
            return min(n, 64)
        }
        return max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
    }()

    private static let limitKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The threads the calling thread's operations may use.
    public static var count: Int {
        guard let limit = pthread_getspecific(limitKey) else { return configured }
        return min(configured, Int(bitPattern: limit))
    }

    /// Runs `body` with the calling thread's operations using at most `threads` threads: for work
    /// that is itself one of several running in parallel (shares of a batch), where splitting each
    /// operation again would only add thread wake-ups.
    public static func limited<T>(to threads: Int, _ body: () throws -> T) rethrows -> T {
        let previous = pthread_getspecific(limitKey)
        pthread_setspecific(limitKey, UnsafeRawPointer(bitPattern: max(1, threads)))
        defer { pthread_setspecific(limitKey, previous) }
        return try body()
    }

    /// Runs `body` with the calling thread's operations kept on it.
    public static func serial<T>(_ body: () throws -> T) rethrows -> T { try limited(to: 1, body) }
}

/// Runs `body(range)` over `0..<count` split into contiguous chunks, in parallel when the work is
/// big enough to pay for it. The split depends only on `count` and the thread count, so results
/// are deterministic for a given thread count.
@inline(__always)
public func parallelChunks(_ count: Int, minimumPerThread: Int = 32_768, _ body: (Range<Int>) -> Void) {
    let threads = min(Threads.count, max(1, count / max(minimumPerThread, 1)))
    if threads <= 1 {
        body(0..<count)
        return
    }
    let chunk = (count + threads - 1) / threads
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: threads) { index in
            let start = index * chunk
            let end = min(count, start + chunk)
            if start < end { body(start..<end) }
        }
    }
}

/// Runs `body(i)` for each of `count` independent items (rows, channels, images), in parallel.
public func parallelFor(_ count: Int, costPerItem: Int = 1, _ body: (Int) -> Void) {
    parallelChunks(count, minimumPerThread: max(1, 32_768 / max(costPerItem, 1))) { range in
        for i in range { body(i) }
    }
}
