import Foundation

/// A MIME bundle: `text/plain`, `text/html`, `image/png` (base64), … as the protocol carries them.
public typealias MimeBundle = [String: JSON]

/// Where one execution sends its outputs. Everything goes to iopub with the request as parent;
/// in a `silent` execution nothing is broadcast, as the protocol asks.
public final class ExecutionIO: @unchecked Sendable {
    public enum Stream: String, Sendable { case stdout, stderr }

    /// Receives each output as an iopub message type and its content.
    public typealias Sink = (_ msgType: String, _ content: JSON) -> Void

    public let cancellation: CancellationToken
    public let executionCount: Int
    private let sink: Sink
    private let silent: Bool
    public private(set) var payload: [JSON] = []
    /// The text/plain of the last execute_result, kept for history with output.
    public private(set) var resultText: String?

    public init(
        executionCount: Int, silent: Bool = false, cancellation: CancellationToken = CancellationToken(),
        sink: @escaping Sink
    ) {
        self.sink = sink
        self.silent = silent
        self.executionCount = executionCount
        self.cancellation = cancellation
    }

    private func send(_ type: String, _ content: JSON) {
        guard !silent else { return }
        sink(type, content)
    }

    public func stream(_ text: String, to stream: Stream = .stdout) {
        send("stream", ["name": .string(stream.rawValue), "text": .string(text)])
    }

    public func display(_ data: MimeBundle, metadata: [String: JSON] = [:], displayID: String? = nil) {
        var content: [String: JSON] = ["data": .object(data), "metadata": .object(metadata)]
        if let displayID { content["transient"] = ["display_id": .string(displayID)] }
        send("display_data", .object(content))
    }

    public func updateDisplay(_ data: MimeBundle, metadata: [String: JSON] = [:], displayID: String) {
        send(
            "update_display_data",
            [
                "data": .object(data), "metadata": .object(metadata),
                "transient": ["display_id": .string(displayID)]
            ])
    }

    /// The value of the cell, shown as `Out[n]`.
    public func result(_ data: MimeBundle, metadata: [String: JSON] = [:]) {
        resultText = data["text/plain"]?.string
        send(
            "execute_result",
            [
                "data": .object(data), "metadata": .object(metadata),
                "execution_count": .int(executionCount)
            ])
    }

    public func clearOutput(wait: Bool = false) {
        send("clear_output", ["wait": .bool(wait)])
    }

    /// Text for the front end's pager (a `page` payload in the reply).
    public func page(_ data: MimeBundle) {
        payload.append(["source": "page", "data": .object(data), "start": 0])
    }
}
