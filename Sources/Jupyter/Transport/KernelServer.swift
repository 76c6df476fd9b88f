import CZeroMQ
import Dispatch
import Foundation
import Synchronization

/// The ZeroMQ transport of a kernel: five sockets, each owned by one thread, and the process's
/// signals and parent watch. Every message it receives goes to the protocol core (`KernelCore`).
/// - shell and stdin: the thread that calls `run()`, which also executes requests one at a time;
/// - control: its own thread, so kernel_info, interrupt and shutdown answer while a cell runs;
/// - iopub: the `Publisher` thread; heartbeat: an echo thread.
public final class KernelServer: KernelTransport, @unchecked Sendable {
    public let core: KernelCore
    private let connection: ConnectionInfo
    private let context: ZMQContext
    private let publisher: Publisher
    private let shell: ZMQSocket
    private let stdin: ZMQSocket
    private let control: ZMQSocket
    private let heartbeat: ZMQSocket
    private let codec: WireCodec
    private var log: KernelLog { core.log }
    private let stopping = Atomic<Bool>(false)
    /// Set when `run()` has closed everything.
    private let finished = Atomic<Bool>(false)
    private let controlDone = DispatchSemaphore(value: 0)
    private let heartbeatDone = DispatchSemaphore(value: 0)
    private var signalSource: DispatchSourceSignal?

    public var identity: KernelIdentity { core.identity }

    /// Binds all five sockets (port 0 picks a free port; see `endpoints`).
    public init(connection: ConnectionInfo, interpreter: KernelInterpreter, identity: KernelIdentity) throws {
        self.connection = connection
        codec = WireCodec(signer: Signer(key: connection.key), history: DigestHistory())
        core = KernelCore(interpreter: interpreter, identity: identity, codec: codec)
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
            let endpoint =
                port == 0 && connection.transport == "tcp"
                ? "tcp://\(connection.ip):*" : connection.endpoint(port)
            do { try socket.bind(endpoint) } catch let error as ZMQError {
                throw ConnectionError(
                    "cannot bind the \(name) channel to \(endpoint): \(String(cString: zmq_strerror(error.code)))"
                        + (error.code == EADDRINUSE
                            ? " (another process holds this port: start with a new connection file)" : ""))
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
        publisher = Publisher(socket: iopub, codec: codec, log: core.log)
        endpoints = [
            "shell": shell.lastEndpoint, "stdin": stdin.lastEndpoint, "control": control.lastEndpoint,
            "hb": heartbeat.lastEndpoint, "iopub": iopub.lastEndpoint
        ]
    }

    /// The bound endpoints by channel name.
    public let endpoints: [String: String]

    /// Serves until a shutdown_request arrives or the parent process named in JPY_PARENT_PID dies.
    public func run() {
        publisher.start()
        core.attach(self)
        startThread("heartbeat") { [self] in runHeartbeat() }
        startThread("control") { [self] in runControl() }
        watchSignals()
        watchParent()
        core.start()
        while !stopping.load(ordering: .acquiring) {
            let ready = ZMQSocket.poll([shell, stdin], timeoutMilliseconds: 100)
            if ready.contains(0) { drain(shell) { core.receive($0, on: .shell) } }
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
        core.interrupt.cancel()
    }

    /// How long a running command has to reach a safe point after a shutdown_request before the
    /// process exits anyway: a shutdown always ends the kernel. Set before `run()`.
    public var shutdownGrace: TimeInterval = 3
    /// What ends the process when that time has passed (tests replace it). Set before `run()`.
    public var exitProcess: @Sendable () -> Void = { exit(0) }

    /// Stops the server, and exits the process if the shell thread does not stop in time.
    public func shutDown() {
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
            drain(control) { core.receive($0, on: .control) }
        }
        control.close()
        controlDone.signal()
    }

    /// SIGINT interrupts the running command; an idle kernel ignores it.
    private func watchSignals() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [core] in core.interrupt.cancel() }
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

    // MARK: - KernelTransport

    public func send(_ message: Message, on channel: KernelChannel) {
        let socket = channel == .shell ? shell : control
        do { try socket.send(codec.encode(message)) } catch { log("send \(message.msgType): \(error)") }
    }

    public func publish(_ message: Message) {
        publisher.publish(message)
    }

    public func flush() {
        publisher.flush()
    }

    /// How long `takeQueuedShellRequests` waits for one more request. 5 ms was too short on a loaded
    /// 2-core machine (a cell queued behind a failing one sometimes ran); the wait delays only the
    /// reply of a cell that failed. Set before `run()`.
    public var abortWindowMilliseconds = 50

    /// Takes the burst a client sent, as xeus's `abort_queue` polls: until no request has arrived
    /// for `abortWindowMilliseconds`.
    public func takeQueuedShellRequests() -> [[Data]] {
        var queued: [[Data]] = []
        while !ZMQSocket.poll([shell], timeoutMilliseconds: abortWindowMilliseconds).isEmpty {
            while let frames = try? shell.receive(dontWait: true) { queued.append(frames) }
        }
        return queued
    }
}
