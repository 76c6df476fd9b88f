import CZeroMQ
import Foundation

/// A minimal Jupyter client: starts a kernel from its kernelspec on free local ports and talks to
/// it over shell, control and iopub. Used by benchmarks; one thread at a time.
public final class KernelClient {
    public let process: Process
    private let context: ZMQContext
    private let shell, control, iopub: ZMQSocket
    private let codec: WireCodec
    private let factory = MessageFactory()
    private let connectionFile: URL

    public init(spec: KernelSpec) throws {
        let ports = try Self.freePorts(5)
        let key = UUID().uuidString.lowercased()
        let info: JSON = [
            "shell_port": .int(ports[0]), "iopub_port": .int(ports[1]), "stdin_port": .int(ports[2]),
            "control_port": .int(ports[3]), "hb_port": .int(ports[4]), "ip": "127.0.0.1",
            "key": .string(key), "transport": "tcp", "signature_scheme": "hmac-sha256",
            "kernel_name": .string(spec.name)
        ]
        connectionFile = FileManager.default.temporaryDirectory.appendingPathComponent("kernel-client-\(key).json")
        try info.serialized().write(to: connectionFile)
        codec = WireCodec(signer: Signer(key: key))
        context = try ZMQContext()
        shell = try ZMQSocket(context, .dealer)
        control = try ZMQSocket(context, .dealer)
        iopub = try ZMQSocket(context, .sub)
        iopub.setOption(ZMQ_SUBSCRIBE, Data())
        for socket in [shell, control, iopub] {
            socket.setOption(ZMQ_LINGER, Int32(0))
            // The kernel binds after we connect; retry every 5 ms (not libzmq's 100 ms) so that
            // start-up times measure the kernel, not the retry interval.
            socket.setOption(ZMQ_RECONNECT_IVL, Int32(5))
        }
        try shell.connect("tcp://127.0.0.1:\(ports[0])")
        try iopub.connect("tcp://127.0.0.1:\(ports[1])")
        try control.connect("tcp://127.0.0.1:\(ports[3])")

        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = spec.argv.map {
            $0.replacingOccurrences(of: "{connection_file}", with: connectionFile.path)
        }
        var environment = ProcessInfo.processInfo.environment
        environment.merge(spec.environment) { _, new in new }
        environment["JPY_PARENT_PID"] = String(getpid())
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
        for socket in [shell, control, iopub] { socket.close() }
        try? FileManager.default.removeItem(at: connectionFile)
    }

    /// Sends kernel_info requests until one is answered (what jupyter_client's wait_for_ready does).
    public func waitUntilReady(timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let id = try send("kernel_info_request", [:])
            while let reply = try receive(shell, timeoutMilliseconds: 100) {
                if reply.parentHeader["msg_id"]?.string == id {
                    drainIOPub()
                    return
                }
            }
        }
        throw ConnectionError("kernel did not answer kernel_info within \(timeout) s")
    }

    /// Runs `code` and waits for both its execute_reply and its idle status.
    @discardableResult
    public func execute(_ code: String, timeout: Double = 30) throws -> Message {
        let id = try send(
            "execute_request",
            [
                "code": .string(code), "silent": false, "store_history": true,
                "user_expressions": [:], "allow_stdin": false, "stop_on_error": true
            ])
        var reply: Message?
        var idle = false
        let deadline = Date().addingTimeInterval(timeout)
        while (reply == nil || !idle) && Date() < deadline {
            let ready = ZMQSocket.poll([shell, iopub], timeoutMilliseconds: 100)
            if ready.contains(0), let message = try receive(shell, timeoutMilliseconds: 0),
                message.parentHeader["msg_id"]?.string == id
            {
                reply = message
            }
            if ready.contains(1), let message = try receive(iopub, timeoutMilliseconds: 0),
                message.parentHeader["msg_id"]?.string == id, message.msgType == "status",
                message.content["execution_state"] == "idle"
            {
                idle = true
            }
        }
        guard let reply, idle else { throw ConnectionError("no reply to execute_request within \(timeout) s") }
        return reply
    }

    public func shutdown() {
        _ = try? send("shutdown_request", ["restart": false], on: control)
        _ = try? receive(control, timeoutMilliseconds: 2000)
        for _ in 0..<50 where process.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate() }
    }

    private func send(_ type: String, _ content: JSON, on socket: ZMQSocket? = nil) throws -> String {
        let message = Message(header: factory.header(type), content: content)
        try (socket ?? shell).send(codec.encode(message))
        return message.header.msgID
    }

    private func receive(_ socket: ZMQSocket, timeoutMilliseconds: Int) throws -> Message? {
        guard !ZMQSocket.poll([socket], timeoutMilliseconds: timeoutMilliseconds).isEmpty,
            let frames = try socket.receive(dontWait: true)
        else { return nil }
        return try codec.decode(frames)
    }

    private func drainIOPub() {
        while (try? receive(iopub, timeoutMilliseconds: 50)) ?? nil != nil {}
    }

    /// Ports the system reports free right now (bound to port 0, then released).
    static func freePorts(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { for socket in sockets { close(socket) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            guard bound else { throw ConnectionError("could not find a free port") }
            sockets.append(fd)
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }
}
