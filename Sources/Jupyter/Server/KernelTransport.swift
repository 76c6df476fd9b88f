import Foundation

/// The two channels requests arrive on. Control has its own thread, so it answers while a cell runs.
public enum KernelChannel: String, Sendable, CaseIterable {
    case shell, control
}

/// What the protocol core asks of a transport, as xeus's `xserver` asks of xeus-zmq: move frames,
/// nothing else. `KernelServer` is the ZeroMQ transport; tests use one in memory.
public protocol KernelTransport: AnyObject, Sendable {
    /// Sends a reply on the channel its request came in on (its identities route it).
    func send(_ message: Message, on channel: KernelChannel)
    /// Broadcasts on iopub. Any thread may publish.
    func publish(_ message: Message)
    /// Returns once everything published before it has gone out, so outputs precede their reply.
    func flush()
    /// Removes and returns the shell requests that arrived but were not handled yet.
    func takeQueuedShellRequests() -> [[Data]]
    /// A shutdown_request was answered: stop serving, and end the process even if a command
    /// ignores the interrupt.
    func shutDown()
}

/// Diagnostics of the kernel, on stderr (which Jupyter servers keep in their log), each line
/// prefixed with the implementation's name so a server log that holds several kernels reads well.
public struct KernelLog: Sendable {
    public let prefix: String
    private let write: @Sendable (String) -> Void

    public init(
        prefix: String,
        write: @escaping @Sendable (String) -> Void = { text in
            FileHandle.standardError.write(Data(text.utf8))
        }
    ) {
        self.prefix = prefix
        self.write = write
    }

    public func callAsFunction(_ text: String) {
        write("[\(prefix)] \(text)\n")
    }
}
