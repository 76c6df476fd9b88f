import CZeroMQ
import Dispatch
import Foundation
import Synchronization

/// A Jupyter kernel over ZeroMQ. Five sockets, each owned by one thread:
/// - shell and stdin: the thread that calls `run()`, which also executes requests one at a time;
/// - control: its own thread, so kernel_info, interrupt and shutdown answer while a cell runs;
/// - iopub: the `Publisher` thread; heartbeat: an echo thread.
public final class KernelServer: @unchecked Sendable {
    public let identity: KernelIdentity
    private let interpreter: KernelInterpreter
    private let connection: ConnectionInfo
    private let context: ZMQContext
    private let codec: WireCodec
    private let factory = MessageFactory()
    private let publisher: Publisher
    private let shell: ZMQSocket
    private let stdin: ZMQSocket
    private let control: ZMQSocket
    private let heartbeat: ZMQSocket
    /// Interrupts the execution in progress; reset when an execution starts.
    private let interrupt = CancellationToken()
    private let stopping = Atomic<Bool>(false)
    /// Set when `run()` has closed everything.
    private let finished = Atomic<Bool>(false)
    private let controlDone = DispatchSemaphore(value: 0)
    private let heartbeatDone = DispatchSemaphore(value: 0)
    private var signalSource: DispatchSourceSignal?
    // Shell-thread state.
    private var executionCount = 0
    private var history = History()

    /// Binds all five sockets (port 0 picks a free port; see `endpoints`).
    public init(connection: ConnectionInfo, interpreter: KernelInterpreter, identity: KernelIdentity) throws {
        self.connection = connection
        self.interpreter = interpreter
        self.identity = identity
        codec = WireCodec(signer: Signer(key: connection.key), history: DigestHistory())
        context = try ZMQContext()
        shell = try ZMQSocket(context, .router)
        stdin = try ZMQSocket(context, .router)
        control = try ZMQSocket(context, .router)
        heartbeat = try ZMQSocket(context, .rep)
        let iopub = try ZMQSocket(context, .pub)
        // libzmq refuses (and disconnects) a peer whose frame exceeds the wire limit before it is
        // authenticated, so an unsigned message can hold at most frames × this limit in memory.
        for socket in [shell, control, stdin, heartbeat] {
            socket.setOption(ZMQ_MAXMSGSIZE, Int64(WireCodec.defaultMaxMessageBytes))
        }
        func bind(_ socket: ZMQSocket, _ name: String, _ port: Int) throws {
            let endpoint = port == 0 && connection.transport == "tcp"
                ? "tcp://\(connection.ip):*" : connection.endpoint(port)
            do { try socket.bind(endpoint) } catch let error as ZMQError {
                throw ConnectionError("cannot bind the \(name) channel to \(endpoint): \(String(cString: zmq_strerror(error.code)))"
                                      + (error.code == EADDRINUSE ? " (another process holds this port: start with a new connection file)" : ""))
            }
        }
        do {
            try bind(shell, "shell", connection.shellPort)
            try bind(stdin, "stdin", connection.stdinPort)
            try bind(control, "control", connection.controlPort)
            try bind(heartbeat, "heartbeat", connection.hbPort)
            try bind(iopub, "iopub", connection.iopubPort)
        } catch {
            // Every socket must be closed before the context is terminated, or termination waits forever.
            for socket in [shell, stdin, control, heartbeat, iopub] { socket.close() }
            throw error
        }
        publisher = Publisher(socket: iopub, codec: codec)
        endpoints = ["shell": shell.lastEndpoint, "stdin": stdin.lastEndpoint, "control": control.lastEndpoint,
                     "hb": heartbeat.lastEndpoint, "iopub": iopub.lastEndpoint]
    }

    /// The bound endpoints by channel name.
    public let endpoints: [String: String]

    /// Serves until a shutdown_request arrives or the parent process named in JPY_PARENT_PID dies.
    public func run() {
        publisher.start()
        startThread("heartbeat") { [self] in runHeartbeat() }
        startThread("control") { [self] in runControl() }
        watchSignals()
        watchParent()
        publisher.publish(factory.broadcast("status", content: ["execution_state": "starting"], parent: nil))
        while !stopping.load(ordering: .acquiring) {
            let ready = ZMQSocket.poll([shell, stdin], timeoutMilliseconds: 100)
            if ready.contains(0) { drain(shell) { handleShell($0) } }
            if ready.contains(1) { drain(stdin) { _ in log("stdin: ignored a message no input_request asked for") } }
        }
        shell.close()
        stdin.close()
        controlDone.wait()
        publisher.stop()
        context.shutdown()
        heartbeatDone.wait()
        finished.store(true, ordering: .releasing)
    }

    /// Asks the server to stop; a running command is interrupted at its next safe point.
    public func requestStop() {
        stopping.store(true, ordering: .releasing)
        interrupt.cancel()
    }

    /// How long a running command has to reach a safe point after a shutdown_request before the
    /// process exits anyway: a shutdown always ends the kernel. Set before `run()`.
    public var shutdownGrace: TimeInterval = 3
    /// What ends the process when that time has passed (tests replace it). Set before `run()`.
    public var exitProcess: @Sendable () -> Void = { exit(0) }

    /// Stops the server, and exits the process if the shell thread does not stop in time.
    private func shutDown() {
        requestStop()
        let (grace, exitProcess) = (shutdownGrace, self.exitProcess)
        startThread("shutdown-watch") { [self] in
            Thread.sleep(forTimeInterval: grace)
            guard !finished.load(ordering: .acquiring) else { return }
            log("a running command did not stop within \(grace) s of shutdown_request; exiting")
            publisher.flush()
            exitProcess()
        }
    }

    // MARK: - Threads

    private func startThread(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }

    private func drain(_ socket: ZMQSocket, _ handle: ([Data]) -> Void) {
        while !stopping.load(ordering: .acquiring) {
            do {
                guard let frames = try socket.receive(dontWait: true) else { return }
                handle(frames)
            } catch {
                log("receive: \(error)")
                return
            }
        }
    }

    private func runHeartbeat() {
        while true {
            do {
                guard let frames = try heartbeat.receive() else { continue }
                try heartbeat.send(frames)
            } catch {
                break  // ETERM: the context is shutting down.
            }
        }
        heartbeat.close()
        heartbeatDone.signal()
    }

    private func runControl() {
        while !stopping.load(ordering: .acquiring) {
            guard !ZMQSocket.poll([control], timeoutMilliseconds: 100).isEmpty else { continue }
            drain(control) { frames in
                guard let request = decode(frames, on: control) else { return }
                serve(request, on: control) { request in
                    switch request.msgType {
                    case "kernel_info_request": return kernelInfo()
                    case "interrupt_request":
                        interrupt.cancel()
                        return ["status": "ok"]
                    case "shutdown_request":
                        let restart = request.content["restart"]?.bool ?? false
                        defer { shutDown() }
                        return ["status": "ok", "restart": .bool(restart)]
                    default: return unknownRequest(request)
                    }
                }
            }
        }
        control.close()
        controlDone.signal()
    }

    /// SIGINT interrupts the running command; an idle kernel ignores it.
    private func watchSignals() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [interrupt] in interrupt.cancel() }
        source.resume()
        signalSource = source
    }

    private func watchParent() {
        guard let text = ProcessInfo.processInfo.environment["JPY_PARENT_PID"], let pid = pid_t(text), pid > 1
        else { return }
        startThread("parent-watch") { [self] in
            while !stopping.load(ordering: .acquiring) {
                if kill(pid, 0) != 0 && errno == ESRCH {
                    log("parent process \(pid) is gone; shutting down")
                    requestStop()
                    return
                }
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    // MARK: - Requests

    /// Decodes frames; answers what can be answered and logs the rest.
    private func decode(_ frames: [Data], on socket: ZMQSocket) -> Message? {
        do {
            return try codec.decode(frames)
        } catch WireError.badBody(let message, let why) {
            log("bad message: \(why)")
            guard message.msgType.hasSuffix("_request") else { return nil }
            serve(message, on: socket) { _ in
                ["status": "error", "ename": "BadMessage", "evalue": .string(why), "traceback": [.string(why)]]
            }
            return nil
        } catch {
            log("dropped a message: \(error)")
            return nil
        }
    }

    /// busy, the handler's outputs, the reply, idle: in that order on the wire.
    private func serve(_ request: Message, on socket: ZMQSocket, _ handler: (Message) -> JSON?) {
        publisher.publish(factory.broadcast("status", content: ["execution_state": "busy"], parent: request))
        if let content = handler(request) {
            publisher.flush()
            send(factory.reply(to: request, content: content), on: socket)
        }
        publisher.publish(factory.broadcast("status", content: ["execution_state": "idle"], parent: request))
    }

    private func send(_ message: Message, on socket: ZMQSocket) {
        do { try socket.send(codec.encode(message)) } catch { log("send \(message.msgType): \(error)") }
    }

    private func handleShell(_ frames: [Data]) {
        guard let request = decode(frames, on: shell) else { return }
        var queued: [[Data]] = []
        serve(request, on: shell) { request in
            switch request.msgType {
            case "execute_request":
                let (reply, failed) = execute(request)
                if failed && (request.content["stop_on_error"]?.bool ?? true) { queued = collectQueued() }
                return reply
            case "kernel_info_request": return kernelInfo()
            case "complete_request": return complete(request.content)
            case "inspect_request": return inspect(request.content)
            case "is_complete_request": return isComplete(request.content)
            case "history_request": return ["status": "ok", "history": .array(history.answer(request.content))]
            case "comm_info_request": return ["status": "ok", "comms": [:]]
            case "shutdown_request":
                defer { shutDown() }
                return ["status": "ok", "restart": .bool(request.content["restart"]?.bool ?? false)]
            case "comm_open":
                // No comm targets exist; close the comm as the protocol asks.
                if let id = request.content["comm_id"] {
                    publisher.publish(factory.broadcast("comm_close", content: ["comm_id": id, "data": [:]],
                                                        parent: request))
                }
                return nil
            case "comm_msg", "comm_close": return nil
            default: return unknownRequest(request)
            }
        }
        for frames in queued { abortOrHandle(frames) }
    }

    /// After a failed cell with stop_on_error, the execute_requests already sent are not run.
    /// Reading them before the failed cell's reply goes out means no request that a client sends
    /// after seeing that reply is ever aborted.
    private func collectQueued() -> [[Data]] {
        var queued: [[Data]] = []
        while !ZMQSocket.poll([shell], timeoutMilliseconds: 5).isEmpty {
            while let frames = try? shell.receive(dontWait: true) { queued.append(frames) }
        }
        return queued
    }

    private func abortOrHandle(_ frames: [Data]) {
        guard let request = try? codec.decode(frames), request.msgType == "execute_request" else {
            handleShell(frames)
            return
        }
        serve(request, on: shell) { _ in
            let why = "not run: an earlier cell failed and stop_on_error was set"
            return ["status": "error", "ename": "ExecutionAborted", "evalue": .string(why),
                    "traceback": [.string(why)], "execution_count": .int(executionCount)]
        }
    }

    private func execute(_ request: Message) -> (reply: JSON, failed: Bool) {
        let content = request.content
        guard let code = content["code"]?.string else {
            return (badRequest("execute_request content needs a string `code`"), false)
        }
        // Wrong types are refused, not guessed: "yes" is not false.
        for field in ["silent", "store_history", "allow_stdin", "stop_on_error"] {
            if let value = content[field], value != .null, value.bool == nil {
                return (badRequest("execute_request field `\(field)` must be true or false, not \(value.text)"), false)
            }
        }
        if let value = content["user_expressions"], value.object == nil, value != .null {
            return (badRequest("execute_request field `user_expressions` must be an object, not \(value.text)"), false)
        }
        let silent = content["silent"]?.bool ?? false
        let storeHistory = silent ? false : (content["store_history"]?.bool ?? true)
        if storeHistory { executionCount += 1 }
        let count = executionCount
        // Reset before execute_input goes out: an interrupt sent after a client sees it always lands.
        interrupt.reset()
        if !silent {
            publisher.publish(factory.broadcast("execute_input",
                                                content: ["code": .string(code), "execution_count": .int(count)],
                                                parent: request))
        }
        let io = ExecutionIO(executionCount: count, silent: silent, cancellation: interrupt) { [publisher, factory] in
            publisher.publish(factory.broadcast($0, content: $1, parent: request))
        }
        let outcome = interpreter.execute(
            ExecuteRequest(code: code, silent: silent, storeHistory: storeHistory,
                           stopOnError: content["stop_on_error"]?.bool ?? true,
                           allowStdin: content["allow_stdin"]?.bool ?? false, executionCount: count),
            io: io)
        if storeHistory { history.record(line: count, input: code, output: io.resultText) }
        switch outcome {
        case .ok:
            var expressions: [String: JSON] = [:]
            for key in content["user_expressions"]?.object?.keys ?? [:].keys {
                expressions[key] = ["status": "error", "ename": "NotSupported",
                                    "evalue": "gradti has no user expressions", "traceback": []]
            }
            return (["status": "ok", "execution_count": .int(count), "payload": .array(io.payload),
                     "user_expressions": .object(expressions)], false)
        case .error(let error):
            let fields: [String: JSON] = ["ename": .string(error.ename), "evalue": .string(error.evalue),
                                          "traceback": .array(error.traceback.map(JSON.string))]
            if !silent { publisher.publish(factory.broadcast("error", content: .object(fields), parent: request)) }
            var reply = fields
            reply["status"] = "error"
            reply["execution_count"] = .int(count)
            return (.object(reply), true)
        }
    }

    /// The reply to a request whose fields have the wrong types; the execution count is unchanged.
    private func badRequest(_ why: String) -> JSON {
        ["status": "error", "ename": "BadRequest", "evalue": .string(why), "traceback": [.string(why)],
         "execution_count": .int(executionCount)]
    }

    private func kernelInfo() -> JSON {
        let language = identity.language
        return [
            "status": "ok",
            "protocol_version": .string(MessageFactory.protocolVersion),
            "implementation": .string(identity.implementation),
            "implementation_version": .string(identity.implementationVersion),
            "banner": .string(identity.banner),
            "help_links": .array(identity.helpLinks.map { ["text": .string($0.text), "url": .string($0.url)] }),
            "debugger": false,
            "language_info": [
                "name": .string(language.name), "version": .string(language.version),
                "mimetype": .string(language.mimetype), "file_extension": .string(language.fileExtension),
                "pygments_lexer": .string(language.pygmentsLexer), "codemirror_mode": .string(language.codemirrorMode),
            ],
        ]
    }

    private func complete(_ content: JSON) -> JSON {
        let code = content["code"]?.string ?? ""
        let cursor = content["cursor_pos"]?.int ?? code.unicodeScalars.count
        let result = interpreter.complete(code: code, cursor: cursor)
        return ["status": "ok", "matches": .array(result.matches.map(JSON.string)),
                "cursor_start": .int(result.cursorStart), "cursor_end": .int(result.cursorEnd), "metadata": [:]]
    }

    private func inspect(_ content: JSON) -> JSON {
        let code = content["code"]?.string ?? ""
        let cursor = content["cursor_pos"]?.int ?? code.unicodeScalars.count
        let result = interpreter.inspect(code: code, cursor: cursor, detailLevel: content["detail_level"]?.int ?? 0)
        return ["status": "ok", "found": .bool(result.found),
                "data": .object(result.data.mapValues(JSON.string)), "metadata": [:]]
    }

    private func isComplete(_ content: JSON) -> JSON {
        let status = interpreter.isComplete(code: content["code"]?.string ?? "")
        return status == .incomplete ? ["status": "incomplete", "indent": ""] : ["status": .string(status.rawValue)]
    }

    private func unknownRequest(_ request: Message) -> JSON? {
        log("unknown message type \(request.msgType)")
        guard request.msgType.hasSuffix("_request") else { return nil }
        let why = "gradti does not handle \(request.msgType)"
        return ["status": "error", "ename": "UnknownMessageType", "evalue": .string(why), "traceback": [.string(why)]]
    }
}
