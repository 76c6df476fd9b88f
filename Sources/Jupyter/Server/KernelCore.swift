import Foundation

/// The Jupyter protocol without sockets, as xeus's `xkernel_core`: decodes and authenticates
/// frames, dispatches each request through one message-type → handler table shared by shell and
/// control, and keeps the protocol's order on the wire (busy, outputs, reply, idle). It owns the
/// execution count, the history and the interrupt; a `KernelTransport` moves the frames.
///
/// `receive(_:on:)` is called by one thread per channel: shell requests run one at a time, and the
/// handlers allowed on control touch nothing that a shell handler changes.
public final class KernelCore: @unchecked Sendable {
    /// One row of the table: the channels the request is served on and what answers it (nil for
    /// messages that get no reply, such as comm_msg).
    struct Route: Sendable {
        let channels: Set<KernelChannel>
        let handle: @Sendable (KernelCore, Message, inout Aftermath) -> JSON?
    }

    /// What a handler asks to happen after its reply has gone out.
    struct Aftermath {
        var queuedToAbort: [[Data]] = []
        var shutDown = false
    }

    public let identity: KernelIdentity
    public let log: KernelLog
    let interpreter: KernelInterpreter
    let codec: WireCodec
    let factory: MessageFactory
    /// Interrupts the execution in progress; reset when an execution starts.
    public let interrupt = CancellationToken()
    private weak var transport: KernelTransport?
    // Shell-thread state.
    var executionCount = 0
    var history = History()

    public init(
        interpreter: KernelInterpreter, identity: KernelIdentity, codec: WireCodec,
        factory: MessageFactory = MessageFactory(), log: KernelLog? = nil
    ) {
        self.interpreter = interpreter
        self.identity = identity
        self.codec = codec
        self.factory = factory
        self.log = log ?? KernelLog(prefix: identity.implementation)
    }

    /// Connects the core to its transport; call once, before the first `receive`.
    public func attach(_ transport: KernelTransport) {
        self.transport = transport
    }

    /// Announces the kernel on iopub (the `starting` status).
    public func start() {
        transport?.publish(factory.broadcast("status", content: ["execution_state": "starting"], parent: nil))
    }

    /// Handles one message that arrived on `channel`.
    public func receive(_ frames: [Data], on channel: KernelChannel) {
        guard let request = decode(frames, on: channel) else { return }
        dispatch(request, on: channel)
    }

    private func dispatch(_ request: Message, on channel: KernelChannel) {
        var after = Aftermath()
        serve(request, on: channel) { request in
            guard let route = Self.routes[request.msgType], route.channels.contains(channel) else {
                return unknownRequest(request, on: channel)
            }
            return route.handle(self, request, &after)
        }
        for frames in after.queuedToAbort { abortOrHandle(frames) }
        if after.shutDown { transport?.shutDown() }
    }

    /// The table: every message type the kernel answers, and where.
    static let routes: [String: Route] = [
        "execute_request": Route(channels: [.shell]) { core, request, after in
            let (reply, failed) = core.execute(request)
            if failed && (request.content["stop_on_error"]?.bool ?? true) {
                // Read before the failed cell's reply goes out, so that no request a client sends
                // after seeing that reply is ever aborted.
                after.queuedToAbort = core.transport?.takeQueuedShellRequests() ?? []
            }
            return reply
        },
        "kernel_info_request": Route(channels: [.shell, .control]) { core, _, _ in core.kernelInfo() },
        "complete_request": Route(channels: [.shell]) { core, request, _ in core.complete(request.content) },
        "inspect_request": Route(channels: [.shell]) { core, request, _ in core.inspect(request.content) },
        "is_complete_request": Route(channels: [.shell]) { core, request, _ in core.isComplete(request.content) },
        "history_request": Route(channels: [.shell]) { core, request, _ in
            ["status": "ok", "history": .array(core.history.answer(request.content))]
        },
        "comm_info_request": Route(channels: [.shell]) { _, _, _ in ["status": "ok", "comms": [:]] },
        "interrupt_request": Route(channels: [.control]) { core, _, _ in
            core.interrupt.cancel()
            return ["status": "ok"]
        },
        "shutdown_request": Route(channels: [.shell, .control]) { _, request, after in
            after.shutDown = true
            return ["status": "ok", "restart": .bool(request.content["restart"]?.bool ?? false)]
        },
        "comm_open": Route(channels: [.shell]) { core, request, _ in
            // No comm targets exist; close the comm as the protocol asks.
            if let id = request.content["comm_id"] {
                core.publish("comm_close", ["comm_id": id, "data": [:]], parent: request)
            }
            return nil
        },
        "comm_msg": Route(channels: [.shell]) { _, _, _ in nil },
        "comm_close": Route(channels: [.shell]) { _, _, _ in nil }
    ]

    // MARK: - The order on the wire

    /// busy, the handler's outputs, the reply, idle: in that order.
    private func serve(_ request: Message, on channel: KernelChannel, _ handler: (Message) -> JSON?) {
        publish("status", ["execution_state": "busy"], parent: request)
        if let content = handler(request) {
            transport?.flush()
            transport?.send(factory.reply(to: request, content: content), on: channel)
        }
        publish("status", ["execution_state": "idle"], parent: request)
    }

    func publish(_ msgType: String, _ content: JSON, parent: Message) {
        transport?.publish(factory.broadcast(msgType, content: content, parent: parent))
    }

    /// Decodes frames; answers what can be answered (a readable header) and logs the rest.
    private func decode(_ frames: [Data], on channel: KernelChannel) -> Message? {
        do {
            return try codec.decode(frames)
        } catch WireError.badBody(let message, let why) {
            log("bad message: \(why)")
            guard message.msgType.hasSuffix("_request") else { return nil }
            serve(message, on: channel) { _ in
                ["status": "error", "ename": "BadMessage", "evalue": .string(why), "traceback": [.string(why)]]
            }
            return nil
        } catch {
            log("dropped a message on \(channel.rawValue): \(error)")
            return nil
        }
    }

    /// After a failed cell with stop_on_error, the execute_requests already sent are not run;
    /// other requests are served as usual. Each is decoded once: a second decode would take it
    /// for a replay.
    private func abortOrHandle(_ frames: [Data]) {
        guard let request = decode(frames, on: .shell) else { return }
        guard request.msgType == "execute_request" else {
            dispatch(request, on: .shell)
            return
        }
        serve(request, on: .shell) { _ in
            let why = "not run: an earlier cell failed and stop_on_error was set"
            return [
                "status": "error", "ename": "ExecutionAborted", "evalue": .string(why),
                "traceback": [.string(why)], "execution_count": .int(executionCount)
            ]
        }
    }

    private func unknownRequest(_ request: Message, on channel: KernelChannel) -> JSON? {
        let known = Self.routes[request.msgType] != nil
        log(
            known
                ? "\(request.msgType) is not served on \(channel.rawValue)" : "unknown message type \(request.msgType)")
        guard request.msgType.hasSuffix("_request") else { return nil }
        let why =
            known
            ? "\(identity.implementation) serves \(request.msgType) on another channel than \(channel.rawValue)"
            : "\(identity.implementation) does not handle \(request.msgType)"
        return ["status": "error", "ename": "UnknownMessageType", "evalue": .string(why), "traceback": [.string(why)]]
    }
}
