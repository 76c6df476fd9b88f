import Foundation
import Synchronization

/// The signatures of messages already accepted, so a captured message sent again is refused, as
/// jupyter_client's `Session` refuses it. Bounded: past `capacity` the oldest are forgotten
/// (jupyter_client keeps 2^16 too), which bounds memory against a flood of distinct messages.
public final class DigestHistory: Sendable {
    private struct State {
        var seen: Set<Data> = []
        var order: [Data] = []
        var head = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 1 << 16) {
        self.capacity = max(1, capacity)
    }

    /// Records `signature`; false if it was already recorded (a replay).
    public func insert(_ signature: Data) -> Bool {
        state.withLock { state in
            guard state.seen.insert(signature).inserted else { return false }
            if state.order.count < capacity {
                state.order.append(signature)
            } else {
                // A ring: overwrite the oldest.
                state.seen.remove(state.order[state.head])
                state.order[state.head] = signature
                state.head = (state.head + 1) % capacity
            }
            return true
        }
    }

    public var count: Int { state.withLock { $0.seen.count } }
}
