import Synchronization

/// Set by an interrupt (interrupt_request or SIGINT), polled by long commands at safe points.
public final class CancellationToken: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public var isCancelled: Bool { flag.load(ordering: .acquiring) }
    public func cancel() { flag.store(true, ordering: .releasing) }
    public func reset() { flag.store(false, ordering: .releasing) }

    /// Throws `Interrupted` if an interrupt arrived; call between units of work.
    public func check() throws {
        if isCancelled { throw Interrupted() }
    }
}

public struct Interrupted: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "interrupted" }
}
